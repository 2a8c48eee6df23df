package retry

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// The engine's record of each admitted attempt, and the checks of a
// report against it: an attempt is reported once, to the policy that
// admitted it, and decided on the contexts it was begun with.

// admission is Begin's record of one admitted attempt. Every copy of the
// Progress Begin returned points to it and holds its generation, so the
// attempt is reported once, by whichever copy reports it first. The
// generation moves on at the report, and again when the record is reused
// for a later admission (records are pooled per policy, so that Begin
// allocates nothing): a copy that reports late holds a generation that is
// no longer the record's.
//
// The other fields are written by Begin before it hands out the Progress,
// and read only by the report that wins the generation, before the record
// goes back to the pool.
type admission struct {
	gen     atomic.Uint64
	ctx     context.Context // the caller's, given to Begin: the report decides on it
	octx    context.Context // the one Begin returned (the observer's): the hooks get it
	breaker *Breaker        // the policy's, which admitted the attempt
	budget  *Budget         // the policy's, which a success pays
	// round is the record of the hedged call this attempt began, attached
	// by its first Hedge (see Policy.roundOf) and dropped when the record
	// is reused; a record whose root is not the generation of the attempt
	// reported is a stale one, of an earlier use.
	round atomic.Pointer[hedgeRound]
}

// newAdmission records a new admission, of an attempt begun with the
// caller's ctx, that runs with octx, and returns the record and its
// generation.
func (p *Policy) newAdmission(ctx, octx context.Context) (*admission, uint64) {
	a, _ := p.admissions.Get().(*admission)
	if a == nil {
		a = new(admission)
	}
	a.ctx, a.octx, a.breaker, a.budget = ctx, octx, p.cfg.breaker, p.cfg.budget
	if a.round.Load() != nil {
		// An earlier use's hedged call: dropped, so that a reused record
		// keeps no call's alive. A Hedge of that use's attempt that races
		// with this may still attach one: it is known by its root.
		a.round.Store(nil)
	}
	return a, a.gen.Add(1)
}

// claimAdmission marks the admission of generation gen reported, and
// returns the contexts it was begun with and the hedged call it began, if
// a Hedge joined it to one (see firstOf); the record then goes back to the
// pool of the policy that made it. It returns ErrDuplicateReport when the
// admission was reported already, and an error wrapping ErrInvalidConfig,
// leaving the admission unreported, when p has another breaker or budget
// than the policy that admitted the attempt (one made from it by With
// with the same breaker and budget is the same policy here).
func (p *Policy) claimAdmission(a *admission, gen uint64) (ctx, octx context.Context, rd *hedgeRound, e error) {
	if !a.gen.CompareAndSwap(gen, gen+1) {
		return nil, nil, nil, ErrDuplicateReport
	}
	if a.breaker != p.cfg.breaker || a.budget != p.cfg.budget {
		a.gen.Store(gen) // not reported: the right policy may still report it
		return nil, nil, nil, errOtherPolicy
	}
	if rd = a.round.Load(); rd != nil {
		rd = rd.firstReported(gen) // before the record goes back to the pool
	}
	ctx, octx = a.ctx, a.octx
	a.ctx, a.octx = nil, nil // the pool keeps no context alive
	p.admissions.Put(a)
	return ctx, octx, rd, nil
}

// errOtherPolicy is the reason of a report to a policy with another
// breaker or budget than the one that admitted the attempt.
var errOtherPolicy = fmt.Errorf("%w: a report to another policy than the one whose Begin admitted the attempt (another breaker or budget)", ErrInvalidConfig)

// report is what a report decides on: the caller's context (for the
// decision and the WithNotify hook) and the attempt's (for the observer).
type report struct{ ctx, octx context.Context }

// claim checks a report of the attempt pr holds, at now, and takes its
// admission, if it has one: the returned error is nil when the report is
// to be recorded, with the contexts to record it with. A second report of
// an admission, a report on the zero Progress or to another policy
// changes nothing; any other bad input releases the admission and reports
// the end of the attempt and of the call to the observer. pr is left
// without the admission, and holds the record of the hedged call whose
// copy it reports, if any, when the report is to be recorded.
func (p *Policy) claim(ctx context.Context, pr *Progress, now time.Time) (report, error) {
	e := p.check(ctx, pr, now)
	adm, gen := pr.adm, pr.gen
	pr.adm, pr.gen = nil, 0
	switch {
	case e != nil && (p == nil || !p.cfg.built):
		return report{}, e // no policy, no breaker to release
	case adm == nil && e != nil:
		pr.held = false
		return report{}, e
	case adm == nil && pr.Attempts == 0:
		return report{}, pr.invalid("a report of an attempt that was not begun (call Begin first)")
	case adm == nil:
		pr.held = false // a stored Progress: its latest attempt, without an admission
		if pr.Start.IsZero() {
			pr.Start = now // as Begin takes it: the call is measured from here
		}
		return report{ctx, ctx}, nil
	}
	cctx, octx, first, why := p.claimAdmission(adm, gen)
	if first != nil {
		pr.round = first // the copy Begin sent, of a hedged call
	}
	switch {
	case why == ErrDuplicateReport:
		pr.held, pr.round = false, nil
		return report{}, &Error{Attempts: max(pr.Attempts, 0), Reason: fmt.Errorf("%w (Failed or Succeeded is called once per Begin)", ErrDuplicateReport)}
	case why != nil:
		pr.held, pr.round = false, nil
		return report{}, &Error{Attempts: max(pr.Attempts, 0), Reason: why}
	case e != nil:
		return report{}, p.ended(pr, report{cctx, octx}, now, e)
	}
	if ctx.Err() != nil && cctx.Err() == nil && octx.Err() == nil {
		cctx = ctx // the caller's own signal: the outcome is unknown
	}
	return report{cctx, octx}, nil
}

// release frees the admission of the attempt pr holds, which counts as
// nothing, reports the end of the attempt and of the call, and returns
// the error of the bad report that ends the call.
func (p *Policy) release(pr *Progress, r report, now time.Time, what string) *Error {
	return p.ended(pr, r, now, pr.invalid(what))
}

// ended ends the call of the admitted attempt pr holds with e, the error
// of a bad report: the admission is released (the attempt counts as
// nothing) and the observer hears of the end of the attempt and of the
// call, with r's attempt context. A zero now is replaced by the attempt's
// start, so that nothing is measured from a made-up instant. A copy of a
// hedged call that is over (a copy won, or a bad report ended it) is a
// loser instead: see endedCopy.
func (p *Policy) ended(pr *Progress, r report, now time.Time, e *Error) *Error {
	c := &p.cfg
	if rd := pr.round; rd != nil {
		rd.mu.Lock() // until the observer has heard of the report
		defer rd.mu.Unlock()
		pr.round = nil
		if rd.over() {
			return c.endedCopy(rd, pr, r, now, e)
		}
		rd.abort() // this report ends the call: no other copy's makes a Done
	}
	var rel clock // a release reads no time; a bad now is never used
	c.report(pr, outcomeNone, &rel)
	clk := at(now)
	if now.IsZero() {
		clk = at(pr.Start.Add(pr.began))
	}
	if c.observer == nil {
		return e
	}
	octx := r.octx
	if octx == nil {
		octx = context.Background()
	}
	c.observeEnd(octx, pr, e, e, &clk)
	return c.ended(octx, pr, e, &clk)
}

// endedCopy is ended for a copy of the hedged call rd that is over, whose
// lock the caller holds: the copy lost (it counts as nothing, its
// AttemptEnd is marked Lost), and if it is the last copy of a call a copy
// won, its report makes the call's Done, the success's, with the winner's
// context. The caller still gets e, the error of its bad report.
func (c *config) endedCopy(rd *hedgeRound, pr *Progress, r report, now time.Time, e *Error) *Error {
	l := rd.leave(false, nil)
	var rel clock
	c.report(pr, outcomeNone, &rel)
	clk := at(now)
	if now.IsZero() {
		clk = at(pr.Start.Add(pr.began))
	}
	octx := r.octx
	if octx == nil {
		octx = context.Background()
	}
	pr.lost = true
	c.observeCopy(octx, pr, e, l, &clk)
	pr.Attempts, pr.hedges = l.attempts, l.hedges
	pr.hedge, pr.lost = false, false
	return e
}
