package httpx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"

	"github.com/retrykit/retry"
)

// drainLimit bounds how much of a retried response's body is read so that
// its connection can be reused; a longer body closes the connection.
const drainLimit = 64 << 10

// Do sends req with c, retrying as the options say, and returns the
// response the way c.Do does. A nil c means [http.DefaultClient].
//
// The options are those of the core loop ([retry.WithMaxAttempts],
// [retry.WithAttemptTimeout], [retry.WithBreaker] and so on), followed by
// any set on req's context with [WithOptions]. Which failures are retried,
// and which requests may be sent more than once, is described in the
// package documentation. req's context bounds the whole sequence: no wait
// starts that could not end before its deadline. An attempt is one send
// through c, and net/http's Transport may itself send a request again
// within one attempt: see "Attempts and sends" in the package
// documentation before choosing the number of attempts.
//
// When the retries end on a status (attempts used up, a non-retryable
// status, a Retry-After beyond the maximum delay, a budget or a deadline
// that leaves no room for another wait), Do returns that last response
// with a nil error and its whole body readable. When there is no response, it
// returns a nil response and a [*retry.Error] that reaches both the
// transport's error and the reason the loop stopped. It never returns a
// response together with an error. Like c.Do, it closes req's body, and it
// never modifies req.
func Do(c *http.Client, req *http.Request, opts ...retry.Option) (*http.Response, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: httpx.Do: nil request", retry.ErrInvalidConfig)
	}
	if c == nil {
		c = http.DefaultClient
	}
	cl := call{req: req, client: c}
	cl.init()
	opts = cl.options(opts, requestOptions(req.Context()))
	resp, err := retry.Do(req.Context(), cl.attempt, opts...)
	return cl.finish(resp, err)
}

// NewTransport returns a RoundTripper that sends each request through base
// (nil means [http.DefaultTransport]) with the retries opts describe, so
// that any [http.Client] gains them. The options are validated once: if
// they are invalid, or base is a nil pointer (or nil func) in a non-nil
// interface, every RoundTrip returns that error (wrapping
// [retry.ErrInvalidConfig]) without sending anything. Options set on a
// request's context with [WithOptions] apply after them.
//
// The behaviour is that of [Do], one RoundTrip per request: the client's
// redirects, cookies and Timeout work as usual, and a client Timeout
// bounds the whole sequence of attempts. Each attempt is one RoundTrip of
// base, which net/http's Transport may turn into several sends (see
// "Attempts and sends" in the package documentation). The transport never
// modifies the request, always closes its body, and returns a response
// only with a nil error. It is safe for concurrent use;
// CloseIdleConnections is passed on to base.
func NewTransport(base http.RoundTripper, opts ...retry.Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	p, err := retry.NewPolicy(opts...)
	if isNilValue(base) {
		err = fmt.Errorf("%w: httpx.NewTransport: the base RoundTripper is a nil %T", retry.ErrInvalidConfig, base)
	}
	return &transport{base: base, opts: []retry.Option{p}, err: err}
}

// isNilValue reports whether rt is a nil pointer or a nil func, map, slice
// or channel inside a non-nil interface: a RoundTripper that can only panic.
func isNilValue(rt http.RoundTripper) bool {
	switch v := reflect.ValueOf(rt); v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan:
		return v.IsNil()
	}
	return false
}

type transport struct {
	base http.RoundTripper
	opts []retry.Option // the policy alone, ready to pass to retry.Do
	err  error          // from NewPolicy
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: httpx: RoundTrip of a nil request", retry.ErrInvalidConfig)
	}
	if t.err != nil {
		closeBody(req)
		return nil, t.err
	}
	cl := call{req: req, rt: t.base}
	cl.init()
	opts := cl.options(t.opts, requestOptions(req.Context()))
	resp, err := retry.Do(req.Context(), cl.attempt, opts...)
	return cl.finish(resp, err)
}

// CloseIdleConnections closes the idle connections of the base transport,
// if it has any.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok && !isNilValue(t.base) {
		c.CloseIdleConnections()
	}
}

type optionsKey struct{}

// WithOptions returns a copy of ctx carrying retry options for the
// requests made with it ([http.NewRequestWithContext] or
// [http.Request.WithContext]). [Do] and the transport of [NewTransport]
// apply them after their own, so they override the client-level policy
// for this request only. Calls nest: options of an inner WithOptions apply
// after those of an outer one.
func WithOptions(ctx context.Context, opts ...retry.Option) context.Context {
	prev := requestOptions(ctx)
	return context.WithValue(ctx, optionsKey{}, append(slices.Clip(prev), opts...))
}

func requestOptions(ctx context.Context) []retry.Option {
	opts, _ := ctx.Value(optionsKey{}).([]retry.Option)
	return opts
}

// call is the state of one request across its attempts.
type call struct {
	req        *http.Request
	client     *http.Client      // Do sends with it, or
	rt         http.RoundTripper // the transport sends with it
	one        retry.Option      // the whole configuration of the call: one option, or
	opts       []retry.Option    // several
	replayable bool              // the body can be produced again (or there is none)
	n          int               // attempts so far
	bodyUsed   bool              // req.Body was handed to the transport
	prev       *http.Response    // the latest response, not yet handed back
	statusErr  error             // for the latest response, when its status is 400 or more
	sends      *sendCount        // counts net/http's own re-sends, when it may make them
}

func (c *call) init() {
	b := c.req.Body
	c.replayable = b == nil || b == http.NoBody || c.req.GetBody != nil
	if countingResends(c.req.Context()) && c.replayable && resentByNetHTTP(c.req) && c.netHTTPTransport() {
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

// attempt is the operation the core loop runs.
func (c *call) attempt(actx context.Context) (*http.Response, error) {
	c.discard()
	c.n++
	c.sends.reset()
	resp, err := c.send(actx)
	if err != nil {
		return nil, classifyErr(c.req, c.replayable, c.sends.wrap(err, false))
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	c.prev = resp
	return resp, c.statusErr
}

// judge sets c.statusErr for a response with a status of 400 or more and,
// when the loop is expected to retry it, reads its body ahead (see
// release). send calls it while the attempt's deadline still applies, so
// that a body that stalls times the attempt out.
func (c *call) judge(resp *http.Response) {
	c.statusErr = nil
	if resp.StatusCode < 400 {
		return
	}
	again, err := statusErr(c.req, resp, c.replayable, c.retried, c.sends.wrapper())
	c.statusErr = err
	if again {
		resp.Body = release(resp.Body, resp.ContentLength)
	}
}

// send makes one attempt with the attempt's context. When the loop gave
// the attempt its own deadline (an attempt timeout), that deadline bounds
// the wait for the response (and the read-ahead of one to be retried) but
// not the caller's reading of its body, which the loop's end would
// otherwise cut off: the request runs under a child of the caller's
// context that the attempt's end cancels only until the response arrives,
// and that closing the body releases.
func (c *call) send(actx context.Context) (*http.Response, error) {
	ctx := c.req.Context()
	if actx == ctx {
		r, err := c.request(c.sends.traced(ctx))
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(r)
		if err == nil {
			c.judge(resp)
		}
		return resp, err
	}
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(actx, func() { cancel(context.Cause(actx)) })
	r, err := c.request(c.sends.traced(rctx))
	var resp *http.Response
	if err == nil {
		resp, err = c.roundTrip(r)
	}
	if err == nil {
		c.judge(resp)
	}
	if !stop() && err == nil { // the attempt timed out as the response came, or while it was read ahead
		resp.Body.Close()
		resp, err = nil, context.Cause(actx)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = releaser(resp.Body, cancel)
	return resp, nil
}

// request returns the request for the next attempt, with context ctx: the
// caller's request itself the first time (when the context is the same),
// then clones with a fresh body from GetBody.
//
// A client with a cookie jar adds the jar's cookies to the Header of the
// request it is given, in place: that request gets a Header of its own, so
// that the caller's request is not modified and a retry, cloned from it,
// does not carry the cookies twice.
func (c *call) request(ctx context.Context) (*http.Request, error) {
	jar := c.client != nil && c.client.Jar != nil
	if c.n == 1 {
		c.bodyUsed = true
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

// options records the call's options, the client's then the request's,
// and returns them. A lone option (typically a *retry.Policy) is kept by
// value: the call never holds the caller's variadic slice, which therefore
// stays off the heap on the hot path.
func (c *call) options(opts, extra []retry.Option) []retry.Option {
	switch {
	case len(extra) == 0 && len(opts) == 1:
		c.one = opts[0]
		return opts
	case len(extra) == 0 && len(opts) == 0:
		return nil
	}
	c.opts = slices.Concat(opts, extra)
	return c.opts
}

// retried reports whether the call's configuration retries err.
func (c *call) retried(err error) bool {
	if c.one != nil {
		return retriedBy([]retry.Option{c.one}, err)
	}
	return retriedBy(c.opts, err)
}

// release reads a response body that is about to be retried into memory
// and closes it, so that its connection goes back to the pool before the
// wait rather than after it; the response may still be the one handed
// back, so the returned body reads the same bytes. A body longer than
// drainLimit (by size, the Content-Length, or found by reading), or one
// that fails to read, is not worth holding in memory: it stays open
// (behind the bytes already read), and discard closes it.
func release(body io.ReadCloser, size int64) io.ReadCloser {
	if body == http.NoBody || size > drainLimit {
		return body
	}
	data, err := io.ReadAll(io.LimitReader(body, drainLimit+1))
	if err != nil || len(data) > drainLimit {
		return &prefixed{io.MultiReader(bytes.NewReader(data), body), body}
	}
	_ = body.Close()
	if len(data) == 0 {
		return http.NoBody
	}
	return &buffered{*bytes.NewReader(data)}
}

// buffered is a response body read into memory.
type buffered struct{ bytes.Reader }

func (*buffered) Close() error { return nil }

// prefixed is a response body partly read into memory: the bytes read,
// then the rest of the body.
type prefixed struct {
	io.Reader
	body io.Closer
}

func (p *prefixed) Close() error { return p.body.Close() }

// discard drains (up to drainLimit) and closes the previous attempt's
// response, which the loop decided to retry, so that its connection is
// reused.
func (c *call) discard() {
	if c.prev == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, c.prev.Body, drainLimit)
	_ = c.prev.Body.Close()
	c.prev = nil
}

// finish turns the loop's result into what net/http callers expect: a
// response with a nil error whenever there is one.
func (c *call) finish(resp *http.Response, err error) (*http.Response, error) {
	if !c.bodyUsed {
		closeBody(c.req)
	}
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
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// releaser returns body with a Close that also calls cancel. A body that
// is also a Writer (a 101 Switching Protocols response) stays one.
func releaser(body io.ReadCloser, cancel context.CancelCauseFunc) io.ReadCloser {
	if rw, ok := body.(io.ReadWriteCloser); ok {
		return &releaseRW{releaseBody{rw, cancel}, rw}
	}
	return &releaseBody{body, cancel}
}

type releaseBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

type releaseRW struct {
	releaseBody
	w io.Writer
}

func (b *releaseRW) Write(p []byte) (int, error) { return b.w.Write(p) }
