package riverx

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/riverqueue/river/rivertype"
	"pgregory.net/rapid"
)

// simRiver works one job as River's executor does, on a virtual clock:
// the attempt counter goes up at each fetch and down at a snooze, the
// state the middleware stores goes into the job's metadata as JSON, a
// failed run is retried at NextRetry's instant or discarded at
// max_attempts, a cancellation ends the job.
type simRiver struct {
	r     *Retrier
	now   time.Time
	job   rivertype.JobRow
	saved *State
}

// work runs the job once with outcome as the worker's result and returns
// the middleware's error; ended reports a final state.
func (s *simRiver) work(outcome error) (err error, ended bool) {
	s.job.Attempt++
	s.saved = nil
	err = s.r.Work(context.Background(), &s.job, func(context.Context) error { return outcome })
	if s.saved != nil {
		b, jerr := json.Marshal(map[string]State{MetadataKey: *s.saved})
		if jerr != nil {
			panic(jerr)
		}
		s.job.Metadata = b
	}
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil, errors.As(err, &cancel):
		return err, true
	case errors.As(err, &snooze):
		s.job.Attempt--
		s.now = s.now.Add(snooze.Duration)
	case s.job.Attempt >= s.job.MaxAttempts:
		return err, true // River discards
	default:
		s.now = s.r.NextRetry(&s.job)
	}
	return err, false
}

// A job worked through the middleware, its progress stored as JSON in its
// metadata between runs, makes the same attempts at the same instants and
// ends for the same reason as the engine driven in memory with the same
// seed, policy and outcomes, under the lower of the policy's attempt limit
// and River's max_attempts; River never discards it.
func TestMiddlewareFollowsTheEngine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		policyMax := rapid.IntRange(0, 6).Draw(t, "policyMax")
		riverMax := rapid.IntRange(1, 6).Draw(t, "riverMax")
		jitter := rapid.SampledFrom([]retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter}).Draw(t, "jitter")
		elapsed := time.Duration(rapid.IntRange(0, 5).Draw(t, "elapsedSeconds")) * time.Second
		outcomes := rapid.SliceOfN(rapid.IntRange(0, 9), 1, 8).Draw(t, "outcomes")
		opts := []retry.Option{retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithJitter(jitter),
			retry.WithMaxDelay(2 * time.Second), retry.WithMaxElapsed(elapsed), retry.WithClassifier(retry.StopOn(errStop))}
		errOf := func(o int) error {
			switch o {
			case 0:
				return nil
			case 1:
				return retry.Permanent(errFail)
			case 2:
				return errStop
			case 3:
				return retry.After(time.Duration(o)*300*time.Millisecond, errFail)
			case 4:
				return retry.After(3*time.Second, errFail) // beyond the maximum delay
			}
			return errFail
		}
		start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

		sim := &simRiver{now: start, job: rivertype.JobRow{ID: 1, MaxAttempts: riverMax, Metadata: []byte(`{}`)}}
		r, err := New(Config{Now: func() time.Time { return sim.now }},
			append(opts, retry.WithMaxAttempts(policyMax), retry.WithRand(rand.New(rand.NewPCG(seed, 1))))...)
		if err != nil {
			t.Fatal(err)
		}
		r.store = func(_ context.Context, st State) { sim.saved = &st }
		sim.r = r

		effective := riverMax
		if policyMax > 0 {
			effective = min(policyMax, riverMax)
		}
		ref, err := retry.NewPolicy(append(opts, retry.WithMaxAttempts(effective), retry.WithRand(rand.New(rand.NewPCG(seed, 1))))...)
		if err != nil {
			t.Fatal(err)
		}

		var got, want []time.Time
		var gotEnd, wantEnd error
		for i := 0; ; i++ {
			got = append(got, sim.now)
			err, ended := sim.work(errOf(outcomes[min(i, len(outcomes)-1)]))
			if ended {
				gotEnd = err
				break
			}
		}
		now := start
		var pr retry.Progress
		for i := 0; ; i++ {
			want = append(want, now)
			ctx, next, err := ref.Begin(context.Background(), pr, now)
			if err != nil {
				t.Fatal(err)
			}
			e := errOf(outcomes[min(i, len(outcomes)-1)])
			if e == nil {
				_ = ref.Succeeded(ctx, next, now)
				break
			}
			v := ref.Failed(ctx, next, e, now)
			if v.Err != nil {
				wantEnd = v.Err
				break
			}
			pr, now = v.Next, now.Add(v.Wait)
		}
		if len(got) != len(want) {
			t.Fatalf("runs at %v, the engine attempts at %v", got, want)
		}
		for i := range got {
			if !got[i].Equal(want[i]) {
				t.Fatalf("run %d at %v, the engine's attempt at %v", i+1, got[i], want[i])
			}
		}
		if retry.ReasonOf(gotEnd) != retry.ReasonOf(wantEnd) {
			t.Fatalf("the job ended with %v, the engine with %v", gotEnd, wantEnd)
		}
		var cancel *rivertype.JobCancelError
		if wantEnd != nil && !errors.As(gotEnd, &cancel) {
			t.Fatalf("a stop must cancel the job, got %v", gotEnd)
		}
		if sim.job.Attempt != len(got) {
			t.Fatalf("River counts %d attempts for %d runs", sim.job.Attempt, len(got))
		}
	})
}

var (
	errFail = errors.New("fail")
	errStop = errors.New("stop")
)

// Malformed stored state on the last run River allows is not discarded
// with the job: the job is snoozed with its state reset, and runs.
func TestRepairOnTheLastAttempt(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	// River fetches it as its attempt 2 of 2 (one run before, its state since damaged).
	sim := &simRiver{now: start, job: rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 2, Metadata: []byte(`{"retrykit": 7}`)}}
	r, err := New(Config{Now: func() time.Time { return sim.now }})
	if err != nil {
		t.Fatal(err)
	}
	r.store = func(_ context.Context, st State) { sim.saved = &st }
	sim.r = r
	err, ended := sim.work(nil)
	var snooze *rivertype.JobSnoozeError
	if ended || !errors.As(err, &snooze) {
		t.Fatalf("got %v (ended %v), want a snooze", err, ended)
	}
	if sim.job.Attempt != 1 || sim.saved == nil || sim.saved.Progress.Attempts != 1 || sim.saved.Next != 2 {
		t.Fatalf("attempt %d, state %+v", sim.job.Attempt, sim.saved)
	}
	if err, ended := sim.work(nil); err != nil || !ended {
		t.Fatalf("the repaired job did not run to completion: %v", err)
	}
}
