package riverx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/retrykit/retry"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// deciding marks the context of a job a Retrier decides for, so that a
// second Retrier on the same job (one per worker and one for the client)
// stands aside: the outermost decides. River enters a worker's middleware
// before the client's.
type deciding struct{}

// Work implements rivertype.WorkerMiddleware: it runs the job (doInner)
// as one attempt of the policy and turns the policy's judgement into what
// River understands. See the package documentation for the table.
//
// Before the job runs, Work reads the job's [State]: a job the policy
// ended after a panic is cancelled; runs whose outcome was never reported
// (a worker process died) count as failed attempts, and their retry is
// decided first, as is a retry the budget refused earlier. The breaker
// then admits the run or defers the job. After the run, a success is
// reported to the policy; a failure is decided: retried at the instant
// the policy chose (NextRetry hands it to River), deferred when the
// budget refuses the retry, or cancelled with the policy's reason.
//
// A nil or zero Retrier fails the job with [ErrNilRetrier] without
// running it. Malformed stored state fails the run with an error saying
// so, without running the job; the state is reset from River's attempt
// count and the job runs again at once.
func (r *Retrier) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if !r.valid() {
		return ErrNilRetrier
	}
	if job == nil || ctx.Value(deciding{}) != nil {
		return doInner(ctx)
	}
	ctx = context.WithValue(ctx, deciding{}, r)
	now := r.now()
	st, err := loadState(job)
	if err != nil {
		return r.repair(ctx, job, err, now)
	}
	if st.Stopped != "" {
		return r.end(ctx, job, st.Progress, fmt.Errorf("riverx: ended by the retry policy after a run that panicked: %s", st.Stopped))
	}
	if st.Ended > 0 && job.Attempt > st.Ended {
		st = retried(st, job.Attempt, now)
	}
	pr := st.Progress
	if lost := job.Attempt - st.Next; lost > 0 {
		pr.Attempts = satAdd(pr.Attempts, lost)
		if pr.Start.IsZero() {
			pr.Start = firstRun(job, now)
		}
		st.Undecided, st.Deferred = true, fmt.Sprintf("%d run(s) ended without a report (the worker stopped)", lost)
	}
	if st.Undecided {
		var end error
		if pr, end = r.decideHeld(ctx, job, pr, st.Deferred, now); end != nil {
			return end
		}
	}
	actx, apr, err := r.policy.Begin(ctx, pr, now)
	if err != nil {
		switch {
		case errors.Is(err, retry.ErrCircuitOpen):
			return r.deferJob(ctx, job, pr, err, now)
		case errors.Is(err, retry.ErrExhausted): // the stored progress holds every attempt allowed
			return r.end(ctx, job, pr, err)
		}
		return err // the context is done (River is stopping), or the progress is invalid
	}
	return r.attempt(ctx, actx, job, st.Deferred, pr, apr, doInner)
}

// attempt runs the job admitted with apr (pr is its progress before the
// admission; deferred, why it was last deferred) and reports its outcome
// to the policy.
func (r *Retrier) attempt(ctx, actx context.Context, job *rivertype.JobRow, deferred string, pr, apr retry.Progress, doInner func(context.Context) error) (err error) {
	returned := false
	defer func() {
		if !returned { // doInner panicked (or called runtime.Goexit): River reports it
			r.failed(ctx, actx, job, apr, errPanicked, false)
		}
	}()
	err = doInner(actx)
	returned = true
	if err == nil {
		if bytes.Contains(job.Metadata, keyBytes) { // a later operator's retry starts afresh
			r.store(ctx, State{Progress: apr, Next: job.Attempt + 1, Deferred: deferred, Ended: job.Attempt})
		}
		if e := r.policy.Succeeded(actx, apr, r.now()); e != nil {
			return fmt.Errorf("riverx: the job succeeded, but its report to the retry policy failed: %w", e)
		}
		return nil
	}
	var snooze *rivertype.JobSnoozeError
	switch {
	case ctx.Err() != nil: // River is stopping or cancelled the job: it decides
		r.policy.Failed(actx, apr, err, r.now())
		r.store(ctx, State{Progress: pr, Next: job.Attempt})
		return err
	case errors.As(err, &snooze): // the worker snoozed: the run counts as nothing
		cctx, cancel := context.WithCancelCause(actx)
		cancel(errSnoozed)
		r.policy.Failed(cctx, apr, err, r.now())
		r.store(ctx, State{Progress: pr, Next: job.Attempt})
		return err
	}
	return r.failed(ctx, actx, job, apr, err, true)
}

var (
	// errPanicked is the error the policy judges for a run that panicked;
	// River records the panic's value and trace itself.
	errPanicked = errors.New("riverx: the job panicked")
	// errSnoozed ends, as nothing, an attempt whose worker snoozed the job.
	errSnoozed = errors.New("riverx: the worker snoozed the job")
)

// failed decides after the run admitted with apr failed with err.
// returned is false for a run that panicked: the panic goes on to River,
// which records it and asks NextRetry, so a stop or a deferral can only
// be recorded in the state for the next delivery.
func (r *Retrier) failed(ctx, actx context.Context, job *rivertype.JobRow, apr retry.Progress, err error, returned bool) error {
	now := r.now()
	v := r.limited(job, apr.Attempts).Failed(actx, apr, judged(actx, err), now)
	switch {
	case v.Err == nil:
		r.handoff.put(job.ID, now.Add(v.Wait), now)
		r.store(ctx, State{Progress: v.Next, Next: job.Attempt + 1})
		return err
	case errors.Is(v.Err, retry.ErrBudgetExhausted), errors.Is(v.Err, retry.ErrCircuitOpen):
		// The run happened and failed: River records it as an attempt.
		// The retry waits, and asks the budget again before it runs (the
		// breaker, open past the wait, refused it before the budget was
		// asked; it admits the run or defers the job again then).
		next := v.Next
		next.Prev = apr.Prev // the retry is decided again from the same previous wait
		r.handoff.put(job.ID, now.Add(max(v.Next.Prev, r.minDefer)), now)
		r.store(ctx, State{Progress: next, Next: job.Attempt + 1, Undecided: true, Deferred: v.Err.Error()})
		if !returned {
			return err
		}
		return v.Err
	case !returned:
		r.handoff.put(job.ID, now, now)
		r.store(ctx, State{Progress: v.Next, Next: job.Attempt + 1, Stopped: v.Err.Error()})
		return err
	}
	var cancel *rivertype.JobCancelError
	if errors.As(err, &cancel) {
		r.store(ctx, State{Progress: v.Next, Next: job.Attempt + 1, Ended: job.Attempt})
		return err // the worker's own cancellation, already a stop
	}
	return r.end(ctx, job, v.Next, v.Err)
}

// end cancels the job for why after pr's attempts, recording the attempt
// it ended at: a later run (an operator's retry, which keeps River's
// attempt count) is a new call of the policy.
func (r *Retrier) end(ctx context.Context, job *rivertype.JobRow, pr retry.Progress, why error) error {
	r.store(ctx, State{Progress: pr, Next: job.Attempt + 1, Ended: job.Attempt})
	return river.JobCancel(why)
}

// retried is the state of a job run again after it ended at st.Ended (an
// operator's retry, River's JobRetry, which keeps the attempt count): a
// fresh progress, as for a job never run. Runs between the retry and
// this one whose outcome was never reported count as lost, from now.
func retried(st State, attempt int, now time.Time) State {
	fresh := State{Next: st.Ended + 1}
	if attempt > fresh.Next {
		fresh.Progress.Start = now
	}
	return fresh
}

// judged is err as the policy should judge it: the worker's own
// cancellation stops, and a deadline that ended the run while the job's
// context did not end (River's job timeout, the worker's own deadline) is
// an attempt that ran out of its time.
func judged(actx context.Context, err error) error {
	var cancel *rivertype.JobCancelError
	switch {
	case errors.As(err, &cancel):
		return retry.Permanent(err)
	case actx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return retry.TimedOut(err)
	}
	return err
}

// decideHeld decides the retry of a job whose last runs were not decided
// (deferred by the budget, or lost with their worker), before it runs
// again: the attempt and elapsed limits and the budget are asked as for
// any retry, with no wait (the job has waited already). It returns the
// progress to run with, or the error to end this delivery with.
func (r *Retrier) decideHeld(ctx context.Context, job *rivertype.JobRow, pr retry.Progress, why string, now time.Time) (retry.Progress, error) {
	v := r.redecide.Failed(ctx, pr, heldError(why), now)
	switch {
	case v.Err == nil:
		v.Next.Prev = pr.Prev // the wait already waited; decorrelated jitter grows from it
		return v.Next, nil
	case errors.Is(v.Err, retry.ErrBudgetExhausted):
		return pr, r.deferHeld(ctx, job, pr, r.scheduledWait(pr, now), v.Err, now)
	}
	return pr, r.end(ctx, job, pr, v.Err)
}

// heldError is the error of the runs whose retry decideHeld decides.
type heldError string

func (e heldError) Error() string { return "riverx: retry held back: " + string(e) }

// deferHeld snoozes a job whose retry the budget refused (pr holds the
// failed attempts), after wait or at least the Retrier's Defer, to be
// decided again when it comes back. Snoozing does not spend one of River's
// attempts. A snooze that would end past the elapsed limit cancels the job
// instead (see pastElapsed).
func (r *Retrier) deferHeld(ctx context.Context, job *rivertype.JobRow, pr retry.Progress, wait time.Duration, why error, now time.Time) error {
	wait = max(wait, r.minDefer)
	if end := r.pastElapsed(pr, retry.ErrBudgetExhausted, wait, now); end != nil {
		return r.end(ctx, job, pr, end)
	}
	r.store(ctx, State{Progress: pr, Next: job.Attempt, Undecided: true, Deferred: why.Error()})
	return river.JobSnooze(wait)
}

// deferJob snoozes a job the breaker refused: it did not run, and comes
// back after the wait the policy would choose, or at least the Retrier's
// Defer, to ask the breaker again. The elapsed limit counts from the
// first refusal of a job that never ran (as Do's from its call's start):
// a snooze that would end past it cancels the job instead, with
// [retry.ErrMaxElapsed] (see pastElapsed).
func (r *Retrier) deferJob(ctx context.Context, job *rivertype.JobRow, pr retry.Progress, why error, now time.Time) error {
	if pr.Start.IsZero() {
		pr.Start = now // Begin starts the progress again at the first run
	}
	wait := max(r.scheduledWait(pr, now), r.minDefer)
	if end := r.pastElapsed(pr, retry.ErrCircuitOpen, wait, now); end != nil {
		return r.end(ctx, job, pr, end)
	}
	r.store(ctx, State{Progress: pr, Next: job.Attempt, Deferred: why.Error()})
	return river.JobSnooze(wait)
}

// repair answers a job whose stored state is malformed: the run fails
// with err, without running the job, and the state is reset to what
// River's attempt count tells (the runs so far, the first recorded error
// as the start); the job runs again at once. On the last run River allows,
// a failure would be discarded: the job is snoozed instead (no attempt
// spent), err kept in the state's Deferred for an operator.
func (r *Retrier) repair(ctx context.Context, job *rivertype.JobRow, err error, now time.Time) error {
	pr := retry.Progress{Attempts: max(job.Attempt-1, 0), Start: firstRun(job, now)}
	if pr.Attempts == 0 {
		pr.Start = time.Time{}
	}
	err = fmt.Errorf("%w; reset from River's attempt count, the job runs again", err)
	if job.MaxAttempts > 0 && job.Attempt >= job.MaxAttempts {
		r.store(ctx, State{Progress: pr, Next: job.Attempt, Deferred: err.Error()})
		return river.JobSnooze(0)
	}
	r.store(ctx, State{Progress: pr, Next: job.Attempt + 1})
	r.handoff.put(job.ID, now, now)
	return err
}

// setState records st in the job's metadata, written by River when the
// run ends. River accepts the key in a worker middleware; the error it
// could return (a context that is not a job's) cannot happen here.
func setState(ctx context.Context, st State) {
	_ = river.MetadataSet(ctx, MetadataKey, st)
}

// satAdd is a + b for non-negative b, saturating at the largest int (which
// the policy then rejects as an invalid progress) instead of wrapping.
func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
