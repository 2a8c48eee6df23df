package jetstreamx_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry/jetstreamx"
)

// batch is the number of messages each iteration of BenchmarkThroughput
// publishes and waits for.
const batch = 200

// BenchmarkThroughput measures messages per second through a JetStream
// consumer on the test server: batches of 200 messages that succeed at
// once, published together and waited for, handled by a plain handler
// that acknowledges (its consumer retrying by a BackOff list, the
// engine's own schedule) and by the Retrier's handler (retrykit's default
// policy, a consumer without BackOff), on the same server in one run.
//
//	go test -run '^$' -bench Throughput -count 10 ./jetstreamx | benchstat -col /handler -
func BenchmarkThroughput(b *testing.B) {
	js := connect(b)
	for _, handler := range []string{"plain", "retrykit"} {
		b.Run("handler="+handler, func(b *testing.B) {
			f := newFixture(b, js)
			done := make(chan struct{}, batch)
			work := func(context.Context, jetstream.Msg) error {
				done <- struct{}{}
				return nil
			}
			var h jetstream.MessageHandler
			if handler == "plain" {
				cons := f.consumer(b, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy,
					BackOff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}, MaxDeliver: 5})
				h = func(msg jetstream.Msg) {
					if err := work(context.Background(), msg); err != nil {
						_ = msg.Nak()
						return
					}
					_ = msg.Ack()
				}
				consumeAll(b, cons, h)
			} else {
				cons := f.consumer(b, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second})
				r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv})
				require.NoError(b, err)
				h, err = r.Handler(context.Background(), cons, work)
				require.NoError(b, err)
				consumeAll(b, cons, h)
			}
			subject := f.name + ".jobs"
			body := []byte("work")
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				for range batch {
					_, err := js.PublishAsync(subject, body)
					require.NoError(b, err)
				}
				<-js.PublishAsyncComplete()
				for range batch {
					<-done
				}
				n += batch
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkDecision measures the handler's own cost per message, without
// a server: a message that succeeds on its first delivery, and one that
// fails and is sent back for its retry (its state stored in a bucket in
// memory: the JSON encoding is what storing the progress needs).
func BenchmarkDecision(b *testing.B) {
	kv := &fakeKV{}
	r, err := jetstreamx.New(fakeJS{dead: &deadLetters{}}, jetstreamx.Config{Progress: kv})
	require.NoError(b, err)
	cons := newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	ok, err := r.Handler(context.Background(), cons, func(context.Context, jetstream.Msg) error { return nil })
	require.NoError(b, err)
	fail, err := r.Handler(context.Background(), cons, func(context.Context, jetstream.Msg) error { return errFlaky })
	require.NoError(b, err)
	now := time.Now()
	b.Run("success", func(b *testing.B) {
		m := newFakeMsg(1, 1, now)
		b.ReportAllocs()
		for b.Loop() {
			m.acks = m.acks[:0]
			ok(m)
		}
	})
	b.Run("failure", func(b *testing.B) {
		m := newFakeMsg(2, 1, now)
		b.ReportAllocs()
		for b.Loop() {
			m.acks = m.acks[:0]
			fail(m)
		}
	})
}
