package httpx

import (
	"context"
	"net/http"
	"sync"

	"github.com/retrykit/retry"
)

// Hedging (retry.WithHedge among the options): the copies of a request
// run at once, so call keeps what they share under its lock. Here: the
// rule for which requests may be hedged, the start and end of an attempt,
// and the responses that are not handed back, which are drained and
// closed so that their connections are reused.

// noHedge is appended to the options of a request that must not be sent
// twice at once: the core then runs it without hedging.
var noHedge = retry.WithHedge(0, 1)

// hedgeable reports whether req may run as several copies at once: it may
// be sent again (an idempotent method or an idempotency key, the rule of
// retries) and its body can be produced for each copy (no body, or
// GetBody). A refused connection or a 429 lets a POST be retried, since
// it proves the POST was not processed; a copy in flight proves nothing.
func (c *call) hedgeable() bool { return c.replayable && idempotent(c.req) }

// run runs the call's attempts with opts: through retry.DoHedged when the
// request may be hedged and opts may hedge (a lone policy says whether it
// does; other options are looked at by DoHedged itself, which is Do for
// options that do not hedge), through retry.Do otherwise, whose fast path
// a lone policy that does not hedge keeps. The options of a request that
// may not be hedged end with noHedge, which Do accepts.
func (c *call) run(opts []retry.Option) (*http.Response, error) {
	ctx := c.req.Context()
	if !c.hedgeable() || len(opts) == 0 {
		return retry.Do(ctx, c.op, opts...)
	}
	if p, ok := opts[0].(*retry.Policy); ok && len(opts) == 1 && p.MaxInFlight() <= 1 {
		return retry.Do(ctx, c.op, opts...)
	}
	return retry.DoHedged(ctx, c.op, opts...)
}

// kept is a response an attempt returned, with the attempt's context.
type kept struct {
	resp *http.Response
	ctx  context.Context
}

// begin counts a new attempt and returns its number. It first discards
// the responses of earlier attempts that ran under the caller's own
// context: only an unhedged loop without an attempt timeout runs them so,
// one at a time, so they ended before this one began, and the loop
// decided to retry them. Any other response is kept until the call ends
// (see discardKept): in a hedged call, an attempt can begin after another
// copy has ended the call (the loop started it just before), and the
// ended copy's response is then the one the call returns. What is kept
// is small: a response to be retried is read ahead (up to 64 KiB) and its
// connection released as it arrives (see release).
func (c *call) begin() int {
	done := c.req.Context().Done()
	c.mu.Lock()
	for i := 0; i < len(c.kept); {
		k := c.kept[i]
		if k.ctx.Done() != done {
			i++
			continue
		}
		last := len(c.kept) - 1
		c.kept[i], c.kept[last] = c.kept[last], kept{}
		c.kept = c.kept[:last]
		c.mu.Unlock()
		drain(k.resp)
		c.mu.Lock()
	}
	c.n++
	n := c.n
	c.running++
	if n == 1 {
		c.bodyUsed = true
	}
	c.mu.Unlock()
	return n
}

// end counts the end of an attempt.
func (c *call) end() {
	c.mu.Lock()
	c.running--
	c.mu.Unlock()
}

// keep records resp, returned by the attempt whose context is actx, until
// it is handed back or discarded.
func (c *call) keep(resp *http.Response, actx context.Context) {
	c.mu.Lock()
	c.kept = append(c.kept, kept{resp, actx})
	c.mu.Unlock()
}

// discardKept drains and closes every response kept but resp, the one
// the loop returned: the responses of copies that lost (succeeded after
// another had won, or failed), and of attempts that were retried. The
// loop has returned, so no attempt runs.
func (c *call) discardKept(resp *http.Response) {
	for i, k := range c.kept {
		if k.resp != resp {
			drain(k.resp)
		}
		c.kept[i] = kept{}
	}
	c.kept = c.kept[:0]
}

// calls recycles calls, so that a request that succeeds at once allocates
// nothing through httpx: the operation handed to the loop (c.attempt) is
// made once per pooled call.
var calls = sync.Pool{New: func() any {
	c := &call{}
	c.op = c.attempt
	return c
}}

// newCall returns a call of req from the pool.
func newCall(req *http.Request, client *http.Client, rt http.RoundTripper) *call {
	c := calls.Get().(*call)
	c.req, c.client, c.rt = req, client, rt
	c.init()
	return c
}

// release clears the call and returns it to the pool. The loop has
// returned, and nothing handed back refers to the call.
func (c *call) release() {
	op := c.op
	clear(c.optBuf[:])
	*c = call{op: op}
	calls.Put(c)
}
