package jetstreamx_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

var (
	errFlaky    = errors.New("upstream unavailable")
	errDeclined = errors.New("card declined")
)

// hint is the wait a "hint" message asks for.
const hint = 700 * time.Millisecond

// flaky is a handler for messages "<fail> <mark>": it records each run in
// rec, fails the first <fail> runs with an error marked by <mark> ("",
// "permanent", "terminal", "notidempotent", "hint"), then succeeds.
func flaky(rec *recorder) jetstreamx.Handler {
	return func(ctx context.Context, msg jetstream.Msg) error {
		fields := strings.Fields(string(msg.Data()))
		fail, _ := strconv.Atoi(fields[0])
		if n := rec.add(msg); n > fail {
			return nil
		}
		mark := ""
		if len(fields) > 1 {
			mark = fields[1]
		}
		switch mark {
		case "permanent":
			return retry.Permanent(errDeclined)
		case "terminal":
			return errDeclined // the test's classifier says Terminal
		case "notidempotent":
			return retry.NotIdempotent(errFlaky)
		case "hint":
			return retry.After(hint, errFlaky)
		}
		return errFlaky
	}
}

// decisions records the instants a Retrier decided retries at: its clock
// remembers its last reading, and the observer's RetryScheduled adds the
// wait to it (the decision reads the clock, then reports).
type decisions struct {
	mu     sync.Mutex
	last   time.Time
	chosen []time.Time
	waits  []time.Duration
	events []string
	begun  []int // the attempt numbers started
}

func (d *decisions) now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = time.Now()
	return d.last
}

func (d *decisions) event(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, s)
}

func (d *decisions) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.events = append(d.events, "start")
			d.begun = append(d.begun, e.Attempt)
			return ctx
		},
		AttemptEnd: func(ctx context.Context, e retry.AttemptEndInfo) { d.event("end") },
		RetryScheduled: func(ctx context.Context, e retry.RetryInfo) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.chosen = append(d.chosen, d.last.Add(e.Wait))
			d.waits = append(d.waits, e.Wait)
			d.events = append(d.events, "retry")
		},
		Done: func(ctx context.Context, e retry.DoneInfo) { d.event("done " + retry.ReasonOf(e.Err)) },
	}
}

func (d *decisions) started() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.begun...)
}

func (d *decisions) snapshot() ([]time.Time, []time.Duration, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.chosen...), append([]time.Duration(nil), d.waits...), append([]string(nil), d.events...)
}

// waitRuns waits until the message with seq has run n times, and a little
// longer for any run too many; the bound is a limit on a test that would
// otherwise hang, not a measurement.
func waitRuns(t testing.TB, rec *recorder, seq uint64, n int) []run {
	t.Helper()
	require.Eventually(t, func() bool { return len(rec.of(seq)) >= n }, 60*time.Second, 5*time.Millisecond,
		"message %d ran %d times, want %d", seq, len(rec.of(seq)), n)
	return rec.of(seq)
}

// waitSettled waits until the consumer has no message pending or waiting
// for its acknowledgement: every message was acknowledged or terminated.
func waitSettled(t testing.TB, cons jetstream.Consumer) {
	t.Helper()
	require.Eventually(t, func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, 60*time.Second, 10*time.Millisecond, "messages still pending")
}

// A message failing three times then succeeding runs exactly four times,
// each retry at the instant the policy chose: the redelivery starts at or
// after it, within lateness. The waits are those the same policy, seeded
// alike, chooses in memory for the same instants: the decorrelated jitter
// grew from the progress kept in the bucket.
func TestRunsAtThePolicysInstants(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	const seed = 42
	opts := []retry.Option{
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential(150*time.Millisecond, 2)),
		retry.WithJitter(retry.DecorrelatedJitter),
		retry.WithRand(rand.New(rand.NewPCG(seed, seed))),
	}
	d := &decisions{}
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Now: d.now, OnError: rep.add}, append(opts, retry.WithObserver(d.observer()))...)
	require.NoError(t, err)
	rec := &recorder{}
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	seq := f.publish(t, "3")
	runs := waitRuns(t, rec, seq, 4)
	waitSettled(t, cons)
	require.Len(t, rec.of(seq), 4, "3 failures, then a success")
	chosen, waits, events := d.snapshot()
	require.Len(t, chosen, 3)
	for k := 1; k < 4; k++ {
		at := chosen[k-1]
		assert.False(t, runs[k].Started.Before(at), "run %d started %v before its instant", k+1, at.Sub(runs[k].Started))
		assert.LessOrEqual(t, runs[k].Started.Sub(at), lateness, "run %d started late", k+1)
		assert.EqualValues(t, k+1, runs[k].Delivered)
		t.Logf("run %d: %v after the instant the policy chose", k+1, runs[k].Started.Sub(at))
	}
	assert.Equal(t, []string{"start", "end", "retry", "start", "end", "retry", "start", "end", "retry", "start", "end", "done success"}, events,
		"the observer sees what an in-process call shows")
	assert.Empty(t, rep.all())

	// The same events as retry.Do calling an operation that fails thrice.
	inproc := &decisions{}
	calls := 0
	_, err = retry.Do(context.Background(), func(context.Context) (int, error) {
		if calls++; calls <= 3 {
			return 0, errFlaky
		}
		return 0, nil
	}, retry.WithBackoff(retry.Constant(0)), retry.WithObserver(inproc.observer()))
	require.NoError(t, err)
	_, _, want := inproc.snapshot()
	assert.Equal(t, want, events)

	// The same policy in memory, seeded alike, at the same instants.
	p, err := retry.NewPolicy(append(opts[:3:3], retry.WithRand(rand.New(rand.NewPCG(seed, seed))))...)
	require.NoError(t, err)
	var pr retry.Progress
	for k := range 3 {
		ctx, next, err := p.Begin(context.Background(), pr, runs[k].Started)
		require.NoError(t, err)
		v := p.Failed(ctx, next, errFlaky, chosen[k].Add(-waits[k]))
		require.NoError(t, v.Err)
		assert.Equal(t, v.Wait, waits[k], "wait %d", k+1)
		pr = v.Next
	}

	// The message's state is gone from the bucket once it succeeded.
	_, err = f.kv.Get(context.Background(), jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq))
	assert.ErrorIs(t, err, jetstream.ErrKeyNotFound)
}
