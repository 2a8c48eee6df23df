package httpx

import (
	"fmt"
	"net/http"
	"reflect"

	"github.com/retrykit/retry"
)

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
// with a nil error and its whole body readable; [Outcome] tells why. When there is no response, it
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
	ro := requestOptions(req.Context())
	if ro.err != nil {
		closeBody(req)
		return nil, &retry.Error{Reason: ro.err}
	}
	cl := newCall(req, c, nil)
	resp, err := cl.run(cl.options(opts, ro.opts))
	resp, err = cl.finish(resp, err)
	cl.release()
	return resp, err
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
	ro := requestOptions(req.Context())
	if ro.err != nil {
		closeBody(req)
		return nil, &retry.Error{Reason: ro.err}
	}
	cl := newCall(req, nil, t.base)
	resp, err := cl.run(cl.options(t.opts, ro.opts))
	resp, err = cl.finish(resp, err)
	cl.release()
	return resp, err
}

// CloseIdleConnections closes the idle connections of the base transport,
// if it has any.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok && !isNilValue(t.base) {
		c.CloseIdleConnections()
	}
}
