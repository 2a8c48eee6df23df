package grpcx

import (
	"fmt"

	"github.com/retrykit/retry"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The failure of a hedged stream's copy, as the driver handles it: it
// lets the others go on, or ends the call, or is the engine's to decide.

// failed handles the failure err of copy c (unsent: its stream could not
// be created). A failure the call retries (non-fatal) lets the other
// copies go on and sends the next hedge at once, the first time since the
// last retry; a server pushback delays that hedge, or stops the hedging
// if it says not to retry. Any other failure (fatal) ends the call and
// cancels the others. The last copy's failure is the engine's to decide:
// retry (which hedges again) or end; a failure that ends the call while
// other copies run is decided once they, cancelled, are reported, so that
// the engine decides the call on it (the last copy reported decides).
func (d *driver) failed(c *hcopy, err error, unsent bool) {
	s := d.s
	trailer := s.trailerOf(c)
	raw, judged := s.judge(c, err, unsent, trailer)
	d.lastRaw = raw
	s.mu.Lock()
	bound := s.target == c
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
	switch {
	case len(d.running) == 0:
	case bound:
		d.postpone(c, raw, judged) // the others were cancelled when the stream was bound
		return
	case fatal && hasPushback && !pushbackOK && s.set.retries(status.Code(raw)):
		// A6: a pushback saying not to retry stops the hedging; the
		// copies running go on.
		d.noHedge, d.pushStop = true, true
		d.stopHedge()
		reportLoser(s, c, raw)
		return
	case fatal:
		for _, r := range d.running {
			r.cancel(errHedgeLost)
		}
		d.postpone(c, raw, judged)
		return
	default:
		reportLoser(s, c, raw)
		d.replace(pushback, hasPushback && pushbackOK, judged)
		return
	}
	d.decide(c, raw, judged)
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

// decision is a copy's failure that the engine decides once the other
// copies are reported.
type decision struct {
	c           *hcopy
	raw, judged error
}

// postpone keeps the failure of c, which ends the call, for the engine to
// decide once the other copies, cancelled, are reported; no copy starts
// meanwhile.
func (d *driver) postpone(c *hcopy, raw, judged error) {
	d.pending = &decision{c: c, raw: raw, judged: judged}
	d.noHedge = true
	d.stopHedge()
}
