package httpx

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/retrykit/retry"
)

// call is the state of one request across its attempts. The attempts of
// a hedged call run at once, on several goroutines: what they share is
// guarded by mu (see hedge.go); each attempt's own state (its number, its
// status error, its send count) stays in its frame.
type call struct {
	req        *http.Request
	client     *http.Client      // Do sends with it, or
	rt         http.RoundTripper // the transport sends with it
	one        retry.Option      // the whole configuration of the call: one option, or
	opts       []retry.Option    // several
	replayable bool              // the body can be produced again (or there is none)
	counting   bool              // count net/http's own re-sends (CountResends)
	sends      *sendCount        // the first attempt's count, when counting

	mu       sync.Mutex
	n        int    // attempts begun
	running  int    // attempts running
	bodyUsed bool   // req.Body was handed to the transport
	kept     []kept // responses attempts returned, not yet discarded (see hedge.go)

	// Made once per pooled call.
	op      func(context.Context) (*http.Response, error) // attempt
	keptBuf [2]kept
	optBuf  [4]retry.Option
}

func (c *call) init() {
	b := c.req.Body
	c.replayable = b == nil || b == http.NoBody || c.req.GetBody != nil
	c.kept = c.keptBuf[:0]
	if countingResends(c.req.Context()) && c.replayable && resentByNetHTTP(c.req) && c.netHTTPTransport() {
		c.counting = true
		c.sends = newSendCount()
	}
}

// netHTTPTransport reports whether the call sends through net/http's own
// Transport, which may send a request again by itself (see sendCount).
func (c *call) netHTTPTransport() bool {
	rt := c.rt
	if c.client != nil {
		rt = c.client.Transport
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	_, ok := rt.(*http.Transport)
	return ok
}

// attempt is the operation the core loop runs. The attempts of a hedged
// call run at once.
func (c *call) attempt(actx context.Context) (*http.Response, error) {
	n := c.begin()
	s := c.sends
	if n > 1 && c.counting {
		s = newSendCount() // an attempt of its own, which may run beside another
	}
	resp, serr, err := c.send(actx, n, s)
	c.end()
	if err != nil {
		return nil, classifyErr(c.req, c.replayable, s.wrap(err, false), actx.Err() != nil, c.retried)
	}
	s.answers(resp)
	c.keep(resp, actx)
	if resp.StatusCode < 400 {
		return resp, nil
	}
	return resp, serr
}

// judge returns the error for a response with a status of 400 or more
// (nil for another) and, when the loop is expected to retry it, reads its
// body ahead (see release). send calls it while the attempt's deadline
// still applies, so that a body that stalls times the attempt out.
func (c *call) judge(resp *http.Response, s *sendCount) error {
	if resp.StatusCode < 400 {
		return nil
	}
	again, err := statusErr(c.req, resp, c.replayable, c.retried, s.wrapper())
	if again {
		resp.Body = release(resp.Body, resp.ContentLength)
	}
	return err
}

// send makes attempt n with the attempt's context, and returns its
// response with the error of its status (see judge), or the transport's
// error. When the loop gave the attempt a context of its own (an attempt
// timeout, or a copy of a hedged call, which the loop cancels when another
// copy wins), that context bounds the wait for the response (and the
// read-ahead of one to be retried) but not the reading of its body, which
// the attempt's end would otherwise cut off: the request runs under a
// child of the caller's context that the attempt's end cancels only until
// the response arrives, and that closing the body releases. So a losing
// copy's response that came in time can be drained, and its connection
// reused. That child carries the values of
// the caller's context, not those of the attempt's: an observer's span
// does not reach the transport of an attempt with a timeout.
func (c *call) send(actx context.Context, n int, s *sendCount) (resp *http.Response, serr, err error) {
	ctx := c.req.Context()
	if actx == ctx || actx.Done() == ctx.Done() {
		// No attempt deadline: the attempt's context is the caller's, or
		// differs from it by values only (an observer's span, which the
		// request must carry so that what the transport traces is a child
		// of the attempt's span).
		r, err := c.request(s.traced(actx), n)
		if err != nil {
			return nil, nil, err
		}
		resp, err := c.roundTrip(r)
		if err != nil {
			return nil, nil, err
		}
		return resp, c.judge(resp, s), nil
	}
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(actx, func() { cancel(context.Cause(actx)) })
	r, err := c.request(s.traced(rctx), n)
	if err == nil {
		resp, err = c.roundTrip(r)
	}
	if err == nil {
		serr = c.judge(resp, s)
	}
	if !stop() && err == nil { // the attempt timed out (or lost) as the response came, or while it was read ahead
		resp.Body.Close()
		resp, err = nil, context.Cause(actx)
	}
	if err != nil {
		cancel(nil)
		return nil, nil, err
	}
	resp.Body = releaser(resp.Body, cancel)
	return resp, serr, nil
}

// request returns the request for the next attempt, with context ctx: the
// caller's request itself the first time (when the context is the same),
// then clones with a fresh body from GetBody.
//
// A client with a cookie jar adds the jar's cookies to the Header of the
// request it is given, in place: that request gets a Header of its own, so
// that the caller's request is not modified and a retry, cloned from it,
// does not carry the cookies twice.
func (c *call) request(ctx context.Context, n int) (*http.Request, error) {
	jar := c.client != nil && c.client.Jar != nil
	if n == 1 {
		if ctx == c.req.Context() && !jar {
			return c.req, nil
		}
		r := c.req.WithContext(ctx)
		if jar {
			r.Header = ownHeader(c.req.Header)
		}
		return r, nil
	}
	r := c.req.Clone(ctx)
	if jar && r.Header == nil {
		r.Header = make(http.Header)
	}
	if c.req.GetBody != nil {
		body, err := c.req.GetBody()
		if err != nil {
			return nil, retry.Permanent(fmt.Errorf("httpx: rewinding the request body: %w", err))
		}
		r.Body = body
	}
	return r, nil
}

// ownHeader returns a copy of h that can be written to, even when h is nil.
func ownHeader(h http.Header) http.Header {
	if h == nil {
		return make(http.Header)
	}
	return h.Clone()
}

func (c *call) roundTrip(r *http.Request) (*http.Response, error) {
	if c.client != nil {
		resp, err := c.client.Do(r)
		if resp != nil && err != nil {
			// Only the client's CheckRedirect refusing a redirect returns
			// both (the body already closed): its policy would refuse again.
			return nil, retry.Permanent(err)
		}
		return resp, err
	}
	resp, err := c.rt.RoundTrip(r)
	switch {
	case err != nil:
		if resp != nil && resp.Body != nil {
			// A broken RoundTripper: the response is ignored, as
			// http.Client ignores it, but its body is closed.
			_ = resp.Body.Close()
		}
		return nil, err
	case resp == nil:
		// A broken RoundTripper: say so rather than fail later on a nil.
		err = retry.Permanent(fmt.Errorf("httpx: %T returned a nil *http.Response with a nil error", c.rt))
	case resp.Body == nil:
		// Many RoundTrippers (mostly in tests) mean an empty body by a nil
		// one; http.Client accepts it, and so must the retries, which read
		// and close the bodies they discard.
		resp.Body = http.NoBody
	}
	return resp, err
}

// finish turns the loop's result into what net/http callers expect: a
// response with a nil error whenever there is one.
func (c *call) finish(resp *http.Response, err error) (*http.Response, error) {
	if !c.bodyUsed {
		closeBody(c.req)
	}
	c.discardKept(resp)
	if err == nil {
		return resp, nil
	}
	if resp == nil {
		return nil, err
	}
	if c.req.Context().Err() != nil {
		// The caller gave up while waiting: the body cannot be read anymore.
		_ = resp.Body.Close()
		return nil, err
	}
	attachOutcome(resp, c.req, err)
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
