package jetstreamx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// The example that needs a server is compiled but not run by go test (an
// example cannot skip); TestExample runs its code against the test server.

var errDeclinedCard = errors.New("card declined")

// charge is the handler: a declined card will not be accepted on a second
// try, so it is Permanent; any other error is retried by the policy.
func charge(ctx context.Context, msg jetstream.Msg) error {
	order, err := strconv.Atoi(string(msg.Data()))
	if err != nil {
		return retry.Permanent(fmt.Errorf("not an order number: %w", err))
	}
	if order%2 == 1 {
		return retry.Permanent(errDeclinedCard)
	}
	return nil
}

// consume handles the messages of stream with charge, their retries
// decided by a retry policy, until ctx ends. The progress of messages
// waiting for a retry is kept in bucket; those the policy ends are copied
// to the subject dead.
func consume(ctx context.Context, js jetstream.JetStream, stream, bucket, dead string) error {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: 24 * time.Hour})
	if err != nil {
		return err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: "charge", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxDeliver: -1})
	if err != nil {
		return err
	}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: kv, DeadLetter: dead},
		retry.WithMaxAttempts(8), retry.WithMaxElapsed(time.Hour))
	if err != nil {
		return err
	}
	h, err := r.Handler(ctx, cons, charge)
	if err != nil {
		return err
	}
	cc, err := cons.Consume(h)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	return nil
}

// A JetStream consumer whose retries follow a retry.Policy.
func Example() {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	if err := consume(context.Background(), js, "ORDERS", "retrykit", "dead.orders"); err != nil {
		log.Fatal(err)
	}
}

// What an operator finds in the progress bucket for a message waiting for
// its retry: the progress, the delivery the server should be at when it
// comes back, and why it waits when the budget or the breaker deferred it.
func ExampleState() {
	fmt.Println("key:", jetstreamx.StateKey("ORDERS", "charge", 42))
	value := []byte(`{"progress": {"attempts": 2, "start": "2026-12-01T09:00:00Z", "prev": 400000000},
		"next_delivery": 3, "due": "2026-12-01T09:00:02Z", "published": "2026-12-01T08:59:59Z", "undecided": true,
		"deferred": "retry: retry budget exhausted (client-side decision) after 2 attempts: upstream unavailable"}`)
	var st jetstreamx.State
	if err := json.Unmarshal(value, &st); err != nil {
		log.Fatal(err)
	}
	fmt.Println("attempts so far:", st.Progress.Attempts, "since", st.Progress.Start.Format(time.RFC3339))
	fmt.Println("previous wait:", st.Progress.Prev)
	fmt.Println("runs no sooner than:", st.Due.Format(time.RFC3339))
	fmt.Println("asks the budget before it runs again:", st.Undecided)
	fmt.Println("deferred:", st.Deferred)
	// Output:
	// key: ORDERS.charge.42
	// attempts so far: 2 since 2026-12-01T09:00:00Z
	// previous wait: 400ms
	// runs no sooner than: 2026-12-01T09:00:02Z
	// asks the budget before it runs again: true
	// deferred: retry: retry budget exhausted (client-side decision) after 2 attempts: upstream unavailable
}

// TestExample runs the Example's consumer: an even order is charged, an
// odd one ends after one run, terminated, its copy in the dead-letter
// stream with the reason.
func TestExample(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- consume(ctx, js, f.name, f.name+"-progress", f.dead) }()
	f.publish(t, "42")
	odd := f.publish(t, "43")
	require.Eventually(t, func() bool { return len(f.deadLetters(t)) == 1 }, 30*time.Second, 10*time.Millisecond)
	cons, err := js.Consumer(context.Background(), f.name, "charge")
	require.NoError(t, err)
	waitSettled(t, cons)
	m := f.deadLetters(t)[0]
	require.Equal(t, "43", string(m.Data))
	require.Equal(t, "permanent", m.Header.Get(jetstreamx.HeaderReason))
	require.Equal(t, "retry: permanent error after 1 attempt: card declined", m.Header.Get(jetstreamx.HeaderError))
	require.Equal(t, strconv.FormatUint(odd, 10), m.Header.Get(jetstreamx.HeaderSequence))
	cancel()
	require.NoError(t, <-stopped)
}
