package retry

import (
	"context"
	"fmt"
	"sync"
)

// The record the copies of a hedged call share in the engine
// (Policy.Hedge), so that their reports tell the observer what DoHedged
// tells it (hedge_end.go): one Done per call, with the report of its last
// copy and the call's counts, and the losers' AttemptEnd marked Lost. The
// first Hedge of a call creates it and attaches it to the admission of
// the copy Begin sent, whose Progress the driver holds already; every
// hedge's Progress points to it. A call that is never hedged has none,
// and its reports pay for one load of a nil pointer.

// hedgeRound is the record of one round of a hedged call: the copy Begin
// sent and the hedges of it, until the last of them is reported (a retry
// Begin sends after it starts a round of its own).
type hedgeRound struct {
	root uint64 // the generation of the admission of the copy Begin sent

	mu       sync.Mutex
	first    int8            // whether the copy Begin sent is one of the call's: firstUnknown, firstIn, firstOut
	running  int             // copies admitted and not yet reported
	attempts int             // the call's count of attempts: the latest copy's
	hedges   int32           // the call's count of hedges
	won      bool            // a copy succeeded; the call's Done waits for the last copy
	done     bool            // the call's Done was reported, or its retry decided
	wctx     context.Context // the winner's (or the stopper's) attempt context, which a Done reported later gets
	stop     *Error          // why a copy's failure ended the call (see failedAside), or nil
	shortcut bool            // a copy failed while others ran since the round began: the next such waits
	breaker  *Breaker        // the policy's, whose Hedge may join the call
	budget   *Budget
}

// The copy Begin sent, as its first Hedge finds it: still running, so one
// of the call's copies (firstIn), or reported already, alone (firstOut).
const (
	firstUnknown int8 = iota
	firstIn
	firstOut
)

// errCallOver is the reason Hedge refuses a copy of a call that is over;
// errOtherPolicyHedge, of a call another policy admitted.
var (
	errCallOver         = fmt.Errorf("%w: Hedge of a call that is over (a copy succeeded, or every copy was reported)", ErrInvalidConfig)
	errOtherPolicyHedge = fmt.Errorf("%w: Hedge of a call another policy admitted (another breaker or budget)", ErrInvalidConfig)
)

// roundOf returns the record of the hedged call whose copy pr is, and
// creates it at the call's first Hedge (pr is then the Progress Begin
// returned). The copy Begin sent joins the call if it is still running
// when the record is attached to its admission, and its report, which
// reads the record from there, agrees: both decide under the record's
// lock, the Hedge by the admission's generation, the report (which moved
// that generation on before it looked) by finding the question open.
func (p *Policy) roundOf(pr *Progress) (*hedgeRound, *Error) {
	if rd := pr.round; rd != nil {
		if rd.breaker != p.cfg.breaker || rd.budget != p.cfg.budget {
			return nil, &Error{Attempts: pr.Attempts, Reason: errOtherPolicyHedge}
		}
		return rd, nil
	}
	a := pr.adm
	if a == nil {
		return nil, pr.invalid("Hedge of a call none of whose copies runs (a Progress without an admission: Begin its next attempt)")
	}
	var rd *hedgeRound
	for rd == nil {
		old := a.round.Load()
		switch {
		case old != nil && old.root == pr.gen:
			rd = old // attached by an earlier Hedge of the same copy
			continue
		case a.gen.Load() != pr.gen:
			// The copy was reported, and its admission's record may be
			// another attempt's now: the record found there is not this
			// call's, and must not be replaced.
			return nil, &Error{Attempts: pr.Attempts, Reason: errCallOver}
		}
		n := &hedgeRound{root: pr.gen, running: 1, attempts: pr.Attempts, hedges: pr.hedges}
		if a.round.CompareAndSwap(old, n) {
			rd = n
		}
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.first == firstUnknown {
		if a.gen.Load() != pr.gen {
			rd.first = firstOut
		} else {
			// The copy is not reported: its report takes this lock before
			// its admission's record is used again, so these reads are of
			// this attempt's.
			if a.breaker != p.cfg.breaker || a.budget != p.cfg.budget {
				return nil, &Error{Attempts: pr.Attempts, Reason: errOtherPolicyHedge}
			}
			rd.first, rd.breaker, rd.budget = firstIn, a.breaker, a.budget
		}
	}
	switch {
	case rd.first == firstOut:
		return nil, &Error{Attempts: pr.Attempts, Reason: errCallOver}
	case rd.breaker != p.cfg.breaker || rd.budget != p.cfg.budget:
		return nil, &Error{Attempts: pr.Attempts, Reason: errOtherPolicyHedge}
	}
	return rd, nil
}

// firstReported is the report of the copy Begin sent, whose admission of
// generation gen holds rd: it returns rd if that copy is one of the
// call's, and nil if the record is stale or the copy was reported before
// any Hedge joined it (it is then reported alone).
func (rd *hedgeRound) firstReported(gen uint64) *hedgeRound {
	if rd.root != gen {
		return nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.first == firstUnknown {
		rd.first = firstOut
	}
	if rd.first == firstOut {
		return nil
	}
	return rd
}

// counts returns the call's count of attempts, and whether it is over.
func (rd *hedgeRound) counts() (attempts int, over bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.attempts, rd.over() || rd.running == 0
}

// over reports whether the call is over: a copy won, a copy's failure
// stopped it, or a report ended it. The caller holds rd.mu.
func (rd *hedgeRound) over() bool {
	return rd.won || rd.done || rd.stop != nil
}

// join counts a hedge the budget and the breaker admitted, unless the
// call is over or holds limit attempts already (limit 0: no limit), and
// returns the call's counts with it. The caller holds rd.mu, and keeps it
// until the observer has heard of the hedge's start (see Policy.joinHedge).
func (rd *hedgeRound) join(limit int) (attempts int, hedges int32, why error) {
	switch {
	case rd.over() || rd.running == 0:
		return rd.attempts, rd.hedges, errCallOver
	case limit > 0 && rd.attempts >= limit:
		return rd.attempts, rd.hedges, ErrExhausted
	}
	rd.running++
	rd.attempts++
	rd.hedges++
	return rd.attempts, rd.hedges, nil
}

// unjoin takes back a hedge join counted that is not sent. The caller
// holds rd.mu, as for join.
func (rd *hedgeRound) unjoin() {
	rd.running--
	rd.attempts--
	rd.hedges--
}

// abort is the report of a copy that ends the call with an error of its
// own (a bad report): the other copies' reports make no Done. The caller
// holds rd.mu, and keeps it until the observer has heard of the report.
func (rd *hedgeRound) abort() {
	rd.running--
	rd.done, rd.wctx = true, nil
}

// The part a copy's report plays in its call.
const (
	copyWon   = iota // the first to succeed: the call's success
	copyLost         // reported after another won: counts as nothing (a success, as the breaker's)
	copyAside        // failed while others run: counts as nothing, the others go on
	copyLast         // failed last, none having won: the call's decision
)

// leaving is what a copy's report learns from the call's record.
type leaving struct {
	role     int
	attempts int   // the call's counts
	hedges   int32 //
	done     bool  // the report makes the call's Done (that of a success, or of stop)
	wctx     context.Context
	stop     *Error // why a copy's failure ended the call, for a loser of it
}

// leave counts the copy out of the call, which it leaves with ok (it
// succeeded) and its attempt context octx, and returns its part. The
// caller holds rd.mu, and keeps it until the observer has heard of the
// report, so that the call's Done follows every copy's AttemptEnd.
func (rd *hedgeRound) leave(ok bool, octx context.Context) leaving {
	rd.running--
	last := rd.running == 0
	l := leaving{attempts: rd.attempts, hedges: rd.hedges}
	switch {
	case rd.over():
		l.role, l.stop = copyLost, rd.stop
		if last && !rd.done {
			l.done, l.wctx = true, rd.wctx
			rd.done, rd.wctx = true, nil
		}
	case ok:
		l.role, rd.won = copyWon, true
		if last {
			l.done, rd.done = true, true
		} else {
			rd.wctx = octx
		}
	case last:
		l.role, rd.done = copyLast, true
	default:
		l.role = copyAside
	}
	return l
}

// succeededCopy records the success of a copy of a hedged call (see
// Policy.Succeeded): the winner's is the call's (the breaker's success,
// the budget's deposit), a loser's is the breaker's success alone, as
// DoHedged counts it.
func (c *config) succeededCopy(r report, pr *Progress, clk *clock) {
	rd := pr.round
	rd.mu.Lock()
	defer rd.mu.Unlock()
	l := rd.leave(true, r.octx)
	pr.round = nil
	learn(c.hedge.learner(), pr, clk.t) // every success, as DoHedged's
	pr.rebase(clk)
	pr.lost = l.role == copyLost
	if c.breaker != nil {
		c.report(pr, outcomeSuccess, clk)
	}
	if c.budget != nil && !pr.lost {
		c.budget.deposit()
	}
	c.observeCopy(r.octx, pr, nil, l, clk)
}

// failedCopy decides after a copy of a hedged call failed with err (see
// Policy.Failed): the last copy of a call that none won decides as Do
// does, on the call's counts; one that fails while others run, the
// caller's context not done, is judged as DoHedged judges it
// (failedAside); any other counts as nothing, and its Verdict's Err says
// so with errHedgeEnded after a copy's stop, or the cause of the caller's
// context, or context.Canceled while it runs.
func (c *config) failedCopy(r report, pr *Progress, err error, clk *clock) Verdict {
	rd := pr.round
	rd.mu.Lock()
	defer rd.mu.Unlock()
	l := rd.leave(false, nil)
	pr.round = nil
	if l.role == copyLast {
		copyNo := pr.Attempts
		pr.Attempts, pr.hedges = l.attempts, l.hedges
		pr.rebase(clk)
		wait, hint, stop := c.decide(r.ctx, pr, err, false, clk)
		if c.observer != nil {
			c.observeLast(r.octx, pr, copyNo, err, wait, hint, stop, clk)
		}
		pr.hedge = false // Next's attempt is the retry's, which is no hedge
		v := Verdict{Next: *pr, Wait: wait, Hint: hint}
		if stop != nil {
			v.Err = stop
		}
		return v
	}
	if l.role == copyAside && r.ctx.Err() == nil {
		return c.failedAside(rd, r, pr, err, l, clk)
	}
	if l.role == copyLost && rd.won {
		learnBeaten(c.hedge.learner(), pr, clk.t) // beaten, not cancelled by a call that failed
	}
	pr.rebase(clk)
	pr.lost = l.role == copyLost
	c.report(pr, outcomeNone, clk)
	c.observeCopy(r.octx, pr, strip(err), l, clk)
	pr.Attempts, pr.hedges = l.attempts, l.hedges
	pr.hedge, pr.lost = false, false
	reason := error(context.Canceled)
	switch {
	case l.stop != nil:
		reason = errHedgeEnded // what DoHedged cancels its copies with
	case r.ctx.Err() != nil:
		reason = causeOf(r.ctx)
	}
	return Verdict{Next: *pr, Err: &Error{Attempts: l.attempts, Last: strip(err), Reason: reason}}
}
