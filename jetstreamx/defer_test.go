package jetstreamx_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// attempts counts the attempt numbers an observer saw start.
type attempts struct {
	mu sync.Mutex
	n  map[int]int
}

func (a *attempts) observer() *retry.Observer {
	return &retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.n == nil {
			a.n = map[int]int{}
		}
		a.n[e.Attempt]++
		return ctx
	}}
}

func (a *attempts) counts() map[int]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[int]int{}
	for k, v := range a.n {
		out[k] = v
	}
	return out
}

// An open breaker defers messages without running them and without
// spending their attempts: they come back (the server counts a delivery)
// and, once the breaker lets them through, each runs once, as its
// attempt 1.
func TestOpenBreakerDefers(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
	require.NoError(t, err)
	seen := &attempts{}
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Defer: 100 * time.Millisecond, OnError: rep.add},
		retry.WithBreaker(breaker), retry.WithBackoff(retry.Constant(20*time.Millisecond)), retry.WithObserver(seen.observer()))
	require.NoError(t, err)
	rec := &recorder{}
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	trip := f.publish(t, "1") // its failure opens the breaker
	require.Eventually(t, func() bool { return breaker.State() == retry.BreakerOpen }, 10*time.Second, time.Millisecond)
	var seqs []uint64
	for range 5 {
		seqs = append(seqs, f.publish(t, "0"))
	}
	waitRuns(t, rec, trip, 2)
	for _, seq := range seqs {
		waitRuns(t, rec, seq, 1)
	}
	waitSettled(t, cons)
	runs, dups := rec.ofServer(t, trip)
	assert.Len(t, runs, 2)
	deferred := 0
	for _, seq := range seqs {
		runs, d := rec.ofServer(t, seq)
		dups += d
		require.Len(t, runs, 1, "message %d ran once", seq)
		if runs[0].Delivered > 1 {
			deferred++
		}
	}
	assert.Equal(t, 5, deferred, "every message was delivered while the breaker was open, and deferred")
	// A duplicate from the server comes without the message's state: it
	// runs as an attempt 1.
	assert.Equal(t, map[int]int{1: 6 + dups, 2: 1}, seen.counts(), "no attempt spent while the breaker was open")
	assert.Positive(t, breaker.Stats().Rejected)
	assert.Empty(t, rep.all())
}

// A retry the budget refuses is deferred: the failed attempt counts as the
// attempt it was, and the retry asks the budget again before it runs;
// while the budget refuses, the message comes back without running and
// without spending an attempt. Every retry that runs was granted by the
// budget: the retries run equal its grants.
func TestBudgetRefusalDefers(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1, PerSecond: 1})
	require.NoError(t, err)
	seen := &attempts{}
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Defer: 100 * time.Millisecond, OnError: rep.add},
		retry.WithBudget(budget), retry.WithBackoff(retry.Constant(20*time.Millisecond)), retry.WithObserver(seen.observer()))
	require.NoError(t, err)
	rec := &recorder{}
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	var seqs []uint64
	for range 4 {
		seqs = append(seqs, f.publish(t, "1"))
	}
	for _, seq := range seqs {
		waitRuns(t, rec, seq, 2)
	}
	waitSettled(t, cons)
	dups := 0
	for _, seq := range seqs {
		_, d := rec.ofServer(t, seq)
		dups += d
	}
	if dups > 0 {
		// nats-server before 2.10 may deliver a redelivery again as new
		// (delivery count 1, nats-server PR #5305): the duplicate runs as
		// an attempt 1 and asks the budget, so the counts below no longer
		// describe the adapter. Fail where the server is fixed.
		require.True(t, before2104(js.Conn().ConnectedServerVersion()), "a delivery count went backwards on a server that should not do that")
		t.Logf("%d duplicate deliveries from nats-server (its known bug): the budget's counts are not compared", dups)
		return
	}
	waited := 0
	for _, seq := range seqs {
		runs := rec.of(seq)
		assert.Len(t, runs, 2, "one failure, one retry")
		if runs[1].Delivered > 2 {
			waited++ // deferred at least once between its two runs
		}
	}
	assert.Equal(t, 3, waited, "one token: the first failure is retried at once, the three others wait")
	assert.Equal(t, map[int]int{1: 4, 2: 4}, seen.counts(), "the deferrals spent no attempt")
	stats := budget.Stats()
	assert.EqualValues(t, 4, stats.Allowed, "every retry that ran was granted, and only those")
	assert.Positive(t, stats.Denied, "some retries waited for the budget")
	assert.Empty(t, rep.all())
}

// A message the breaker keeps refusing is not deferred past the policy's
// elapsed limit: once a deferral would end past it, the message ends with
// reason max_elapsed (dead-letter copy, termination), as Do ends a call
// whose next wait would; the limit counts from the first refusal of a
// message that never ran. Before, it came back for as long as the
// breaker stayed open, and ran after it, however late.
func TestOpenBreakerEndsAtTheElapsedLimit(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, DeadLetter: f.dead, Defer: 200 * time.Millisecond, OnError: rep.add},
		retry.WithBreaker(breaker), retry.WithMaxElapsed(time.Second), retry.WithBackoff(retry.Constant(20*time.Millisecond)))
	require.NoError(t, err)
	rec := &recorder{}
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	adv := advisories(t, js, f.name, cons.CachedInfo().Name)
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	trip := f.publish(t, "1") // its failure opens the breaker for an hour
	require.Eventually(t, func() bool { return breaker.State() == retry.BreakerOpen }, 10*time.Second, time.Millisecond)
	never := f.publish(t, "0")
	for range 2 {
		select {
		case <-adv:
		case <-time.After(20 * time.Second):
			t.Fatalf("not terminated; runs %v %v", rec.of(trip), rec.of(never))
		}
	}
	waitSettled(t, cons)
	assert.Len(t, rec.of(trip), 1)
	assert.Empty(t, rec.of(never))
	want := map[string]string{
		strconv.FormatUint(trip, 10):  "retry: maximum elapsed time reached after 1 attempt: retry: circuit breaker is open",
		strconv.FormatUint(never, 10): "retry: maximum elapsed time reached: retry: circuit breaker is open",
	}
	dead := f.deadLetters(t)
	require.Len(t, dead, 2)
	for _, m := range dead {
		assert.Equal(t, "max_elapsed", m.Header.Get(jetstreamx.HeaderReason))
		assert.Equal(t, want[m.Header.Get(jetstreamx.HeaderSequence)], m.Header.Get(jetstreamx.HeaderError))
	}
	assert.Empty(t, rep.all())
}
