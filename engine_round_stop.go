package retry

import (
	"context"
	"time"
)

// A copy of a hedged call driven through the engine that fails while
// others run (engine_round.go), judged as DoHedged judges it
// (hedge_copy.go, failed and replace): a stop ends the call, any other
// failure lets the others go on and says when the next hedge may go.

// failedAside decides after the copy pr of the hedged call rd failed with
// err while others run, the caller's context not done; the caller holds
// rd.mu. A stop ([Permanent], [NotIdempotent], a classifier's) ends the
// call as DoHedged's judge ends it: the breaker hears the copy's outcome,
// the Verdict's Err is the stop, the copies reported after it are losers
// and the last of them makes the call's Done, with the stop and this
// copy's attempt context. Any other failure counts as nothing and the
// others go on: the Verdict's Err is nil and its Wait is that before the
// next hedge (see nextHedgeWait).
func (c *config) failedAside(rd *hedgeRound, r report, pr *Progress, err error, l leaving, clk *clock) Verdict {
	pr.rebase(clk)
	sig, terminal := c.judgeAside(pr, err, clk)
	var stop *Error
	if terminal {
		reason := ErrPermanent
		if sig != nil && sig.notIdempotent {
			reason = ErrNotIdempotent
		}
		stop = &Error{Attempts: l.attempts, Last: strip(err), Reason: reason}
		rd.stop, rd.wctx = stop, r.octx
	}
	if c.observer != nil {
		c.observeAside(r.octx, pr, strip(err), stop, clk)
	}
	pr.Attempts, pr.hedges = l.attempts, l.hedges
	pr.hedge = false
	if stop != nil {
		return Verdict{Next: *pr, Err: stop}
	}
	return Verdict{Next: *pr, Wait: rd.nextHedgeWait(c, l.attempts, pr.Prev)}
}

// judgeAside judges err, the failure of a copy while others run, with the
// rule every driver uses (judge), and reports the copy to the breaker
// that admitted it: a stop as DoHedged reports it (breakerOutcome), any
// other failure as nothing. If a classifier panics, the copy counts as
// nothing (a probe's slot is freed).
func (c *config) judgeAside(pr *Progress, err error, clk *clock) (sig *signal, terminal bool) {
	o := outcomeNone
	defer func() { c.report(pr, o, clk) }()
	sig, terminal, _ = judge(&c.classifiers, err, false)
	if terminal {
		o = breakerOutcome(sig, terminal)
	}
	return sig, terminal
}

// nextHedgeWait is the wait before the hedge that replaces a copy that
// failed, in a way the policy would retry, while others run, by
// DoHedged's rule (hedgeCall.replace): 0 for the first such failure of
// the round (the call's last retry, or its start), and for every later
// one the wait a retry would take after attempts (the policy's backoff
// from prev, without a hint). The caller holds rd.mu.
func (rd *hedgeRound) nextHedgeWait(c *config, attempts int, prev time.Duration) time.Duration {
	if !rd.shortcut {
		rd.shortcut = true
		return 0
	}
	return c.wait(attempts, prev)
}

// observeAside reports the end of the copy pr that failed with err while
// others ran (AttemptEnd, with stop when its failure ended the call), and
// a change of the breaker's state its outcome caused.
func (c *config) observeAside(octx context.Context, pr *Progress, err error, stop *Error, clk *clock) {
	if stop != nil {
		c.observeEnd(octx, pr, err, stop, clk)
	} else {
		c.observeEnd(octx, pr, err, nil, clk)
	}
	c.observeBreaker(octx, clk)
}
