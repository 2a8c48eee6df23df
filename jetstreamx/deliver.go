package jetstreamx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrykit/retry"
)

// delivery is one delivery of a message, from its metadata to its
// acknowledgement.
type delivery struct {
	r    *Retrier
	msg  jetstream.Msg
	meta *jetstream.MsgMetadata
	base context.Context // the handlers' parent
	last bool            // the last delivery MaxDeliver allows: nothing can be deferred
	now  time.Time       // the instant of the latest decision
	// keeper stops the keep-alive that runs from the delivery's start until
	// its acknowledgement; nil once stopped.
	keeper func() error
}

// release stops the keep-alive, before the message is acknowledged, and
// reports what marking it in progress failed with. It is safe to call
// more than once.
func (d *delivery) release() {
	stop := d.keeper
	if stop == nil {
		return
	}
	d.keeper = nil
	if err := stop(); err != nil {
		d.r.report(d.msg, fmt.Errorf("jetstreamx: marking the message in progress: %w", err))
	}
}

// key is the key of the message's State.
func (d *delivery) key() string {
	return StateKey(d.meta.Stream, d.meta.Consumer, d.meta.Sequence.Stream)
}

// settle is the context of the bucket's and the dead letter's requests:
// the handlers' parent, without its cancellation (a consumer that stops
// still records what its handlers decided).
func (d *delivery) settle() context.Context { return context.WithoutCancel(d.base) }

// deliver handles one delivery of msg: it reads the message's state,
// decides the retries whose outcome was never reported (deliveries lost
// with their worker) or that the budget held back, asks the policy to
// admit the attempt, runs h, and settles the message as the policy
// decides. See the package documentation for the table.
func (r *Retrier) deliver(ctx context.Context, lim consumerLimits, h Handler, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		r.report(msg, fmt.Errorf("jetstreamx: not a JetStream message, left unacknowledged: %w", err))
		return
	}
	d := &delivery{r: r, msg: msg, meta: meta, base: ctx, last: lim.maxDeliver > 0 && meta.NumDelivered >= uint64(lim.maxDeliver)}
	// The message is kept alive from here until it is acknowledged: the
	// handler, and the bucket's and the dead letter's requests (each may
	// take JetStream's default timeout, 5s), may outlast AckWait.
	d.keeper = keepAlive(msg, lim.keepAlive)
	defer d.release()
	st, err := r.load(d, meta)
	now := r.now()
	d.now = now
	if u := (unreadable{}); errors.As(err, &u) {
		d.unread(u)
		return
	}
	r.report(msg, err)
	if st.Stopped != "" {
		d.end(stopped{msg: st.Stopped, reason: st.Reason}, st.Progress)
		return
	}
	if early := st.Due.Sub(now); early > earliness(st.Wait) && !d.last {
		d.deferTo(st, early, nil) // the server brought it back too soon
		return
	}
	pr := st.Progress
	if lost := meta.NumDelivered - min(st.Next, meta.NumDelivered); lost > 0 {
		pr.Attempts = satAdd(pr.Attempts, lost)
		if pr.Start.IsZero() {
			pr.Start = meta.Timestamp
		}
		st.Undecided, st.Deferred = true, fmt.Sprintf("%d deliveries ended without a report (a worker stopped, or AckWait passed)", lost)
	}
	if st.Undecided {
		var ok bool
		if pr, ok = d.decideHeld(ctx, pr, st.Deferred, now); !ok {
			return
		}
	}
	actx, apr, err := r.policy.Begin(ctx, pr, now)
	switch {
	case errors.Is(err, retry.ErrInvalidConfig):
		d.end(err, pr) // a progress the engine refuses (a count at its largest)
	case errors.Is(err, retry.ErrCircuitOpen):
		d.refused(pr, err)
	case errors.Is(err, retry.ErrExhausted): // the stored progress holds every attempt allowed
		d.end(err, pr)
	case err != nil: // the consumer is stopping
		d.deferTo(State{Progress: pr, Deferred: err.Error()}, max(r.scheduledWait(pr, now), r.minDefer), err)
	default:
		d.attempt(ctx, actx, h, pr, apr)
	}
}

// earliness is how much sooner than the policy's instant a delivery after
// wait may run: the clocks of the host that decided and of the host that
// receives it may disagree (NTP keeps them within tens of milliseconds),
// so a delivery sooner by less than minEarliness, or by less than 1% of
// the wait, runs. A server that lost the delay (it restarted) delivers
// after AckWait instead, seconds early, and is sent back.
func earliness(wait time.Duration) time.Duration {
	return max(minEarliness, wait/100)
}

// minEarliness is the least disagreement between the clocks of two
// workers that earliness tolerates.
const minEarliness = 50 * time.Millisecond

// refused defers a message the breaker refused (why): it did not run,
// and comes back after the wait the policy would choose, or at least
// Config.Defer, to ask the breaker again. The elapsed limit counts from
// the first refusal of a message that never ran (as Do's from its call's
// start): a deferral that would end past it ends the message instead,
// with [retry.ErrMaxElapsed] (see pastElapsed).
func (d *delivery) refused(pr retry.Progress, why error) {
	if pr.Start.IsZero() {
		pr.Start = d.now // Begin starts the progress again at the first attempt
	}
	wait := max(d.r.scheduledWait(pr, d.now), d.r.minDefer)
	if end := d.r.pastElapsed(pr, retry.ErrCircuitOpen, wait, d.now); end != nil {
		d.end(end, pr)
		return
	}
	d.deferTo(State{Progress: pr, Deferred: why.Error()}, wait, why)
}

// attempt runs h as the attempt admitted with apr (pr is the progress
// before the admission) and reports the outcome. A panic in h is decided
// as a failure, then goes on.
func (d *delivery) attempt(ctx, actx context.Context, h Handler, pr, apr retry.Progress) {
	returned := false
	defer func() {
		if returned {
			return
		}
		v := recover() // nil after runtime.Goexit, which goes on by itself
		d.failed(ctx, actx, pr, apr, fmt.Errorf("%w: %v", errPanicked, v))
		if v != nil {
			panic(v)
		}
	}()
	err := h(actx, d.msg)
	returned = true
	if err == nil {
		d.succeeded(actx, apr)
		return
	}
	d.failed(ctx, actx, pr, apr, err)
}

// errPanicked is the error the policy judges for a handler that panicked.
var errPanicked = errors.New("jetstreamx: the handler panicked")

// failed decides after the attempt admitted with apr failed with err.
func (d *delivery) failed(ctx, actx context.Context, pr, apr retry.Progress, err error) {
	p := d.r.policy
	if d.last {
		p = d.r.limited(apr.Attempts)
	}
	now := d.r.now()
	d.now = now
	v := p.Failed(actx, apr, judged(actx, err), now)
	switch {
	case v.Err == nil:
		d.deferTo(State{Progress: v.Next}, v.Wait, nil)
	case ctx.Err() != nil: // the consumer is stopping: the attempt counts as nothing
		d.deferTo(State{Progress: pr, Deferred: v.Err.Error()}, d.r.minDefer, v.Err)
	case errors.Is(v.Err, retry.ErrBudgetExhausted), errors.Is(v.Err, retry.ErrCircuitOpen):
		// The attempt ran and failed. The retry waits, and asks the budget
		// again, from the same previous wait, before it runs (a breaker
		// open past the wait refused it before the budget was asked; it
		// admits the attempt or defers the message again then).
		next := v.Next
		next.Prev = apr.Prev
		d.deferTo(State{Progress: next, Undecided: true, Deferred: v.Err.Error()}, max(v.Next.Prev, d.r.minDefer), v.Err)
	default:
		d.end(v.Err, v.Next)
	}
}

// judged is err as the policy should judge it: a deadline that ended the
// attempt while the handler's own context did not end (the handler's own
// timeout) is an attempt that ran out of its time.
func judged(actx context.Context, err error) error {
	if actx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return retry.TimedOut(err)
	}
	return err
}

// decideHeld decides the retry of a message whose last deliveries were not
// decided (lost with their worker, or held back by the budget), before it
// runs again: the attempt and elapsed limits and the budget are asked as
// for any retry, with no wait (the message has waited already). It returns
// the progress to run with, or false when the message was settled.
func (d *delivery) decideHeld(ctx context.Context, pr retry.Progress, why string, now time.Time) (retry.Progress, bool) {
	v := d.r.redecide.Failed(ctx, pr, heldError(why), now)
	switch {
	case v.Err == nil:
		v.Next.Prev = pr.Prev // the wait already waited; decorrelated jitter grows from it
		return v.Next, true
	case ctx.Err() != nil:
		d.deferTo(State{Progress: pr, Undecided: true, Deferred: why}, d.r.minDefer, v.Err)
	case errors.Is(v.Err, retry.ErrBudgetExhausted):
		wait := max(d.r.scheduledWait(pr, now), d.r.minDefer)
		if end := d.r.pastElapsed(pr, retry.ErrBudgetExhausted, wait, now); end != nil {
			d.end(end, pr)
			break
		}
		d.deferTo(State{Progress: pr, Undecided: true, Deferred: v.Err.Error()}, wait, v.Err)
	default:
		d.end(v.Err, pr)
	}
	return pr, false
}

// heldError is the error of the attempts whose retry decideHeld decides.
type heldError string

func (e heldError) Error() string { return "jetstreamx: retry held back: " + string(e) }

// satAdd is a + b, saturating at the largest int (which the policy then
// rejects as an invalid progress) instead of wrapping.
func satAdd(a int, b uint64) int {
	if b > uint64(math.MaxInt-a) {
		return math.MaxInt
	}
	return a + int(b)
}
