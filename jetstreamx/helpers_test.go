package jetstreamx_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// natsEnv names the variable that points the tests at a NATS server with
// JetStream.
const natsEnv = "RETRYKIT_NATS_URL"

// defaultURL is the server of the CI machine.
const defaultURL = "nats://127.0.0.1:4222"

// lateness bounds how long after the instant the policy chose a
// redelivery starts in these tests. The server's redelivery timer fires
// about 1 ms after a delayed negative acknowledgement is due and the
// consumer's pull request is already waiting; the rest is slack for a
// loaded machine (250 ms was exceeded once in five runs under a load
// average of 13 on two cores), the same second riverx allows.
const lateness = time.Second

// serverURL returns the URL of the test server, after checking that it
// answers with JetStream: the test skips when it does not (fails under
// CI=true).
func serverURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(natsEnv)
	if url == "" {
		url = defaultURL
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err == nil {
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = js.AccountInfo(ctx)
		cancel()
		nc.Close()
	}
	if err != nil {
		msg := fmt.Sprintf("no NATS server with JetStream at %s (%v): set %s to one's URL", url, err, natsEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

// connect opens a JetStream context on the test server, closed when the
// test ends.
func connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	return connectTo(t, serverURL(t))
}

// connectTo opens a JetStream context on the server at url, closed when
// the test ends.
func connectTo(t testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// unique returns prefix followed by random hexadecimal digits: the names
// of a test's streams, buckets and subjects, so that tests never share
// them.
func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// fixture is a test's stream (subjects "<name>.>"), its dead-letter stream
// ("<name>-dead", subject "<dead subject>"), and its progress bucket, all
// deleted when the test ends.
type fixture struct {
	js     jetstream.JetStream
	name   string // the stream; messages are published to name + ".jobs"
	dead   string // the dead-letter subject
	kv     jetstream.KeyValue
	stream jetstream.Stream
}

// newFixture makes a fixture on js.
func newFixture(t testing.TB, js jetstream.JetStream) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{js: js, name: unique("JSX")}
	f.dead = "dead." + f.name
	var err error
	f.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: f.name, Subjects: []string{f.name + ".>"}})
	require.NoError(t, err)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: f.name + "-dead", Subjects: []string{f.dead}})
	require.NoError(t, err)
	f.kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: f.name + "-progress", TTL: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, s := range []string{f.name, f.name + "-dead"} {
			_ = js.DeleteStream(ctx, s)
		}
		_ = js.DeleteKeyValue(ctx, f.name+"-progress")
	})
	return f
}

// consumer makes a durable pull consumer on the fixture's stream with cfg
// (explicit acknowledgement, a 2 s AckWait and no delivery limit unless
// cfg says otherwise).
func (f *fixture) consumer(t testing.TB, cfg jetstream.ConsumerConfig) jetstream.Consumer {
	t.Helper()
	if cfg.Durable == "" {
		cfg.Durable = unique("c")
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 2 * time.Second
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = -1
	}
	cons, err := f.js.CreateConsumer(context.Background(), f.name, cfg)
	require.NoError(t, err)
	return cons
}

// publish publishes body to the fixture's jobs subject and returns its
// stream sequence.
func (f *fixture) publish(t testing.TB, body string) uint64 {
	t.Helper()
	ack, err := f.js.Publish(context.Background(), f.name+".jobs", []byte(body))
	require.NoError(t, err)
	return ack.Sequence
}

// consumeAll runs handle on cons until the test ends.
func consumeAll(t testing.TB, cons jetstream.Consumer, handle jetstream.MessageHandler) {
	t.Helper()
	cc, err := cons.Consume(handle, jetstream.PullExpiry(time.Second))
	require.NoError(t, err)
	t.Cleanup(cc.Stop)
}

// deadLetters reads the dead-letter copies published so far.
func (f *fixture) deadLetters(t testing.TB) []*nats.Msg {
	t.Helper()
	ctx := context.Background()
	s, err := f.js.Stream(ctx, f.name+"-dead")
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []*nats.Msg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		require.NoError(t, err)
		out = append(out, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
	}
	return out
}

// run is one run of a handler, as a test handler recorded it.
type run struct {
	Delivered uint64    // the server's delivery count
	Started   time.Time // when the handler began
}

// recorder keeps the runs a test handler saw, per stream sequence.
type recorder struct {
	mu   sync.Mutex
	runs map[uint64][]run
}

// add records a run of msg and returns how many runs of it there were.
func (r *recorder) add(msg jetstream.Msg) int {
	meta, err := msg.Metadata()
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = map[uint64][]run{}
	}
	seq := meta.Sequence.Stream
	r.runs[seq] = append(r.runs[seq], run{Delivered: meta.NumDelivered, Started: time.Now()})
	return len(r.runs[seq])
}

func (r *recorder) of(seq uint64) []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs[seq]...)
}

// ofServer is the runs of seq without the server's duplicates, and how
// many runs it left out: a run whose delivery count is lower than an
// earlier run's is a copy the server sent again, not a delivery the
// adapter caused (a server without the fix of nats-io/nats-server#5305,
// a 2.10 release of April 2024, re-sends a redelivery it failed to hand
// to a pull request as a new message, with a delivery count of 1: "delivery
// count going backwards"; the CI machine runs 2.9.10). The server counts every
// delivery it makes, so a run the adapter repeated on one delivery keeps
// its count and is not left out.
func (r *recorder) ofServer(t testing.TB, seq uint64) (runs []run, dups int) {
	t.Helper()
	var top uint64
	for _, x := range r.of(seq) {
		if x.Delivered < top {
			t.Logf("message %d: a duplicate from the server (delivery %d after delivery %d) left out", seq, x.Delivered, top)
			dups++
			continue
		}
		top = x.Delivered
		runs = append(runs, x)
	}
	return runs, dups
}

// errors collects what the adapter reported to Config.OnError.
type reports struct {
	mu   sync.Mutex
	errs []string
}

func (r *reports) add(_ jetstream.Msg, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err.Error())
}

func (r *reports) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// joined is all reports on one line, for messages.
func (r *reports) joined() string { return strings.Join(r.all(), " | ") }
