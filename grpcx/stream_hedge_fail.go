package grpcx

import (
	"fmt"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The failure of a hedged stream's copy, as the driver handles it: the
// engine judges it (Policy.Failed under the caller's context) and says
// whether it ends the call or lets the others go on, and when the next
// hedge may go.

// failed handles the failure err of copy c (unsent: its stream could not
// be created). The last copy's failure is the engine's to decide: retry
// (which hedges again) or end. A failure while others run is reported at
// once under the caller's context: a stop ends the call with the
// engine's Verdict (the others are cancelled, and reported as they end,
// which the engine counts as losers); any other failure lets the others
// go on, and the next hedge goes after the Verdict's wait (see replace)
// or the server's pushback; a pushback saying not to retry stops the
// hedging instead, and makes the failure of the copies that go on fatal.
func (d *driver) failed(c *hcopy, err error, unsent bool) {
	s := d.s
	trailer := s.trailerOf(c)
	raw, judged := s.judge(c, err, unsent, trailer)
	d.lastRaw = raw
	s.mu.Lock()
	s.forget(c)
	s.mu.Unlock()
	pushback, hasPushback, pushbackOK := parsePushback(trailer.Get(pushbackKey))
	fatal := !retriedBy(s.pol.judge, judged)
	if d.pushStop && !fatal {
		// A6: no further copy after a server said not to retry, not even
		// a retry once the copies that went on have failed.
		judged = retry.Permanent(fmt.Errorf("grpcx: the server asked not to retry an earlier copy of this hedged stream (%s): %w", pushbackKey, raw))
		fatal = true
	}
	if len(d.running) == 0 {
		d.decide(c, raw, judged)
		return
	}
	pushStop := fatal && hasPushback && !pushbackOK && s.set.retries(status.Code(raw))
	if pushStop {
		// A6: a pushback saying not to retry stops the hedging; the
		// copies running go on, so the engine hears of a failure it
		// would retry (unless its classifiers stop on it).
		judged = raw
	}
	v := s.pol.policy.Failed(s.ctx, c.pr, judged, time.Now())
	c.release(nil)
	if v.Err != nil {
		// A stop (or the caller's context ended): the engine ended the
		// call, and counts the copies reported after it as losers.
		s.mu.Lock()
		s.last = c
		s.mu.Unlock()
		d.pr = v.Next
		d.end(v.Err)
		return
	}
	if pushStop {
		d.noHedge, d.pushStop = true, true
		d.stopHedge()
		return
	}
	d.replace(pushback, hasPushback && pushbackOK, v.Wait)
}

// trailerOf returns c's trailer once its stream has ended; nil if it was
// never created, if it has not ended (its headers came after its attempt
// timeout: grpc-go's trailer can be read only once the stream ended), or
// if its attempt timeout ended it (the trailer is then no server's word).
func (s *hedgedStream) trailerOf(c *hcopy) metadata.MD {
	s.mu.Lock()
	expired := c.expired
	s.mu.Unlock()
	if c.cs == nil || !c.ended || expired {
		return nil
	}
	return c.cs.Trailer()
}
