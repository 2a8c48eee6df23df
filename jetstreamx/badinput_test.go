package jetstreamx_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// Bad configuration is a clear error from New, never a panic.
func TestBadConfiguration(t *testing.T) {
	var nilPolicy *retry.Policy
	kv := &fakeKV{}
	for _, tc := range []struct {
		name string
		js   jetstream.JetStream
		cfg  jetstreamx.Config
		opts []retry.Option
		want string
	}{
		{"nil js", nil, jetstreamx.Config{Progress: kv}, nil, "a nil jetstream.JetStream"},
		{"no bucket", fakeJS{}, jetstreamx.Config{}, nil, "Config.Progress is nil"},
		{"nil policy", fakeJS{}, jetstreamx.Config{Progress: kv}, []retry.Option{nilPolicy}, "nil *Policy"},
		{"zero policy", fakeJS{}, jetstreamx.Config{Progress: kv}, []retry.Option{&retry.Policy{}}, "zero Policy is not valid"},
		{"negative attempts", fakeJS{}, jetstreamx.Config{Progress: kv}, []retry.Option{retry.WithMaxAttempts(-1)}, "WithMaxAttempts must not be negative"},
		{"negative elapsed", fakeJS{}, jetstreamx.Config{Progress: kv}, []retry.Option{retry.WithMaxElapsed(-time.Second)}, "WithMaxElapsed must not be negative"},
		{"negative defer", fakeJS{}, jetstreamx.Config{Progress: kv, Defer: -time.Second}, nil, "Config.Defer must not be negative"},
		{"negative keep-alive", fakeJS{}, jetstreamx.Config{Progress: kv, KeepAlive: -time.Second}, nil, "Config.KeepAlive must not be negative"},
		{"wildcard dead letter", fakeJS{}, jetstreamx.Config{Progress: kv, DeadLetter: "dead.>"}, nil, `Config.DeadLetter "dead.>" is not a subject`},
		{"empty token", fakeJS{}, jetstreamx.Config{Progress: kv, DeadLetter: "dead..x"}, nil, "is not a subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := jetstreamx.New(tc.js, tc.cfg, tc.opts...)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.ErrorContains(t, err, tc.want)
			assert.Nil(t, r)
		})
	}
}

// A consumer whose configuration contradicts the policy is refused by
// Handler with an error saying how, before any message is handled.
func TestContradictoryConsumer(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		cfg  jetstreamx.Config
		opts []retry.Option
		cons jetstream.ConsumerConfig
		want string
	}{
		{"ack none", jetstreamx.Config{}, nil, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy}, "acknowledges with AckNone; the policy needs AckExplicit"},
		{"ack all", jetstreamx.Config{}, nil, jetstream.ConsumerConfig{AckPolicy: jetstream.AckAllPolicy}, "AckAll would acknowledge messages still waiting"},
		{"backoff", jetstreamx.Config{}, nil, jetstream.ConsumerConfig{BackOff: []time.Duration{time.Second, 5 * time.Second}, MaxDeliver: 5},
			"has a BackOff list [1s 5s]: a second retry schedule"},
		{"max deliver", jetstreamx.Config{}, nil, jetstream.ConsumerConfig{MaxDeliver: 3}, "allows 3 deliveries, fewer than the policy's 4 attempts"},
		{"max deliver, policy's limit", jetstreamx.Config{}, []retry.Option{retry.WithMaxAttempts(10)}, jetstream.ConsumerConfig{MaxDeliver: 9},
			"allows 9 deliveries, fewer than the policy's 10 attempts"},
		{"max deliver, limit beside a budget, classifier and elapsed limit", jetstreamx.Config{},
			[]retry.Option{retry.WithMaxAttempts(6), retry.WithBudget(budget), retry.WithClassifier(retry.StopOn(io.EOF)),
				retry.WithMaxElapsed(time.Nanosecond)},
			jetstream.ConsumerConfig{MaxDeliver: 5}, "allows 5 deliveries, fewer than the policy's 6 attempts"},
		{"keep-alive", jetstreamx.Config{KeepAlive: 2 * time.Second}, nil, jetstream.ConsumerConfig{AckWait: 2 * time.Second},
			"Config.KeepAlive 2s is not shorter than the AckWait 2s"},
		{"dead letter read back", jetstreamx.Config{DeadLetter: f.name + ".dead"}, nil, jetstream.ConsumerConfig{},
			"reads the dead-letter subject"},
		{"dead letter read back by a filter", jetstreamx.Config{DeadLetter: f.name + ".dead"}, nil, jetstream.ConsumerConfig{FilterSubject: f.name + ".*"},
			"reads the dead-letter subject"},
		{"dead letter lost", jetstreamx.Config{DeadLetter: unique("nowhere.")}, nil, jetstream.ConsumerConfig{},
			"no stream captures the dead-letter subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Progress = f.kv
			r, err := jetstreamx.New(js, cfg, tc.opts...)
			require.NoError(t, err)
			if tc.cons.AckPolicy == 0 {
				tc.cons.AckPolicy = jetstream.AckExplicitPolicy
			}
			h, err := r.Handler(context.Background(), f.consumer(t, tc.cons), flaky(&recorder{}))
			require.ErrorContains(t, err, tc.want)
			assert.Nil(t, h)
		})
	}

	// What agrees: a MaxDeliver at the policy's limit or above, or none
	// with a policy without a limit; a filter that leaves the dead letters
	// out.
	for _, tc := range []struct {
		dead string
		opts []retry.Option
		cons jetstream.ConsumerConfig
	}{
		{f.dead, nil, jetstream.ConsumerConfig{MaxDeliver: 4}},
		{f.dead, []retry.Option{retry.WithMaxAttempts(0)}, jetstream.ConsumerConfig{MaxDeliver: 2}},
		{f.name + ".dead", nil, jetstream.ConsumerConfig{FilterSubject: f.name + ".jobs"}},
	} {
		r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, DeadLetter: tc.dead}, tc.opts...)
		require.NoError(t, err)
		_, err = r.Handler(context.Background(), f.consumer(t, tc.cons), flaky(&recorder{}))
		assert.NoError(t, err, "%+v", tc.cons)
	}
}

// A nil Retrier, context, consumer or handler is an error from Handler; a
// handler called with a nil message or one that is not a JetStream
// message reports it and returns, leaving the message to the server.
func TestNilInput(t *testing.T) {
	var r *jetstreamx.Retrier
	cons := newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	h := func(context.Context, jetstream.Msg) error { return nil }
	_, err := r.Handler(context.Background(), cons, h)
	require.ErrorIs(t, err, jetstreamx.ErrNilRetrier)
	_, err = (&jetstreamx.Retrier{}).Handler(context.Background(), cons, h)
	require.ErrorIs(t, err, jetstreamx.ErrNilRetrier)

	rep := &reports{}
	r, err = jetstreamx.New(fakeJS{}, jetstreamx.Config{Progress: &fakeKV{}, OnError: rep.add})
	require.NoError(t, err)
	//lint:ignore SA1012 a nil context is the bad input under test
	_, err = r.Handler(nil, cons, h)
	require.ErrorContains(t, err, "a nil context")
	_, err = r.Handler(context.Background(), nil, h)
	require.ErrorContains(t, err, "a nil jetstream.Consumer")
	_, err = r.Handler(context.Background(), cons, nil)
	require.ErrorContains(t, err, "a nil Handler")

	ran := false
	mh, err := r.Handler(context.Background(), cons, func(context.Context, jetstream.Msg) error { ran = true; return nil })
	require.NoError(t, err)
	mh(nil)
	msg := newFakeMsg(1, 1, time.Now())
	msg.metaErr = jetstream.ErrNotJSMessage
	mh(msg)
	assert.False(t, ran)
	kind, _ := msg.settled()
	assert.Empty(t, kind, "left to the server")
	assert.Equal(t, []string{"jetstreamx: the handler was called with a nil message",
		"jetstreamx: not a JetStream message, left unacknowledged: nats: not a jetstream message"}, rep.all())
}

// A message whose stored state is malformed is repaired from the delivery
// count (each earlier delivery an attempt), with an error naming the
// problem reported, and runs: no panic, no lost message.
func TestMalformedStoredState(t *testing.T) {
	js := connect(t)
	for _, tc := range []struct{ state, want string }{
		{`garbage`, "malformed retry state"},
		{`{"progress": {"attempts": -3}, "next_delivery": 2}`, "invalid Progress (attempts -3"},
		{`{"progress": {"attempts": 1, "start": "yesterday"}, "next_delivery": 2}`, "malformed retry state"},
		{`{"progress": {"attempts": 1}, "next_delivery": 0}`, "next_delivery 0 is below 1"},
	} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFixture(t, js)
			rep := &reports{}
			seen := &attempts{}
			r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, OnError: rep.add},
				retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithObserver(seen.observer()))
			require.NoError(t, err)
			cons := f.consumer(t, jetstream.ConsumerConfig{})
			rec := &recorder{}
			h, err := r.Handler(context.Background(), cons, flaky(rec))
			require.NoError(t, err)
			seq := f.publish(t, "1")
			h(fetch(t, cons)) // fails: the state is stored, the message comes back in 10 ms
			key := jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq)
			_, err = f.kv.Get(context.Background(), key)
			require.NoError(t, err)
			_, err = f.kv.PutString(context.Background(), key, tc.state)
			require.NoError(t, err)
			h(fetch(t, cons)) // repaired, runs, succeeds
			waitSettled(t, cons)
			runs := rec.of(seq)
			require.Len(t, runs, 2)
			assert.EqualValues(t, 2, runs[1].Delivered)
			assert.Equal(t, map[int]int{1: 1, 2: 1}, seen.counts(), "the repaired state counts the first delivery")
			require.Len(t, rep.all(), 1)
			assert.Contains(t, rep.all()[0], tc.want)
			assert.Contains(t, rep.all()[0], "reset from the delivery count")
			assert.Contains(t, rep.all()[0], key)
		})
	}
}

// fetch returns the consumer's next message.
func fetch(t testing.TB, cons jetstream.Consumer) jetstream.Msg {
	t.Helper()
	msg, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
	require.NoError(t, err)
	return msg
}

// A handler that panics: the panic reaches the caller; the policy decided
// the attempt as a failure first, so the message comes back at the
// policy's wait with the attempt counted, and a breaker's half-open probe
// is released (the next message is admitted).
func TestHandlerPanics(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 5})
	require.NoError(t, err)
	seen := &attempts{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv}, retry.WithBreaker(breaker),
		retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithObserver(seen.observer()))
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	calls := 0
	h, err := r.Handler(context.Background(), cons, func(ctx context.Context, msg jetstream.Msg) error {
		if calls++; calls == 1 {
			panic("boom")
		}
		return nil
	})
	require.NoError(t, err)
	f.publish(t, "x")
	require.PanicsWithValue(t, "boom", func() { h(fetch(t, cons)) })
	h(fetch(t, cons))
	waitSettled(t, cons)
	assert.Equal(t, map[int]int{1: 1, 2: 1}, seen.counts(), "the panic was attempt 1")
	assert.Equal(t, retry.BreakerClosed, breaker.State())
	assert.EqualValues(t, 1, breaker.Stats().Failures)
}
