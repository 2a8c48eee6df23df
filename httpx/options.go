package httpx

import (
	"context"
	"fmt"
	"slices"

	"github.com/retrykit/retry"
)

type optionsKey struct{}

// contextOptions is what WithOptions puts on a context.
type contextOptions struct {
	opts []retry.Option
	err  error // WithOptions or CountResends was called with a nil context
}

// WithOptions returns a copy of ctx carrying retry options for the
// requests made with it ([http.NewRequestWithContext] or
// [http.Request.WithContext]). [Do] and the transport of [NewTransport]
// apply them after their own, so they override the client-level policy
// for this request only. Calls nest: options of an inner WithOptions apply
// after those of an outer one. Invalid options fail the request with an
// error wrapping [retry.ErrInvalidConfig]. A nil ctx does not panic: the
// returned context (a child of [context.Background]) fails every request
// made with it in the same way, before anything is sent.
func WithOptions(ctx context.Context, opts ...retry.Option) context.Context {
	if ctx == nil {
		return nilContext("httpx.WithOptions")
	}
	prev := requestOptions(ctx)
	prev.opts = append(slices.Clip(prev.opts), opts...)
	return context.WithValue(ctx, optionsKey{}, prev)
}

// nilContext returns the context that fn, given a nil one, hands back: a
// child of context.Background that fails every request made with it.
func nilContext(fn string) context.Context {
	return context.WithValue(context.Background(), optionsKey{}, contextOptions{
		err: fmt.Errorf("%w: %s: nil context", retry.ErrInvalidConfig, fn)})
}

func requestOptions(ctx context.Context) contextOptions {
	o, _ := ctx.Value(optionsKey{}).(contextOptions)
	return o
}

// options records the call's options, the client's then the request's,
// and returns them; for a request that may not be hedged (see hedgeable),
// they end with the option that turns hedging off. A lone option
// (typically a *retry.Policy) is kept by value, and several are gathered
// in the call's own buffer while they fit: the call never holds the
// caller's variadic slice, which therefore stays off the heap on the hot
// path.
func (c *call) options(opts, extra []retry.Option) []retry.Option {
	hedge := c.hedgeable()
	switch {
	case len(extra) == 0 && len(opts) == 1 && hedge:
		c.one = opts[0]
		return opts
	case len(extra) == 0 && len(opts) == 0 && hedge:
		return nil
	}
	c.opts = append(append(c.optBuf[:0], opts...), extra...)
	if !hedge {
		c.opts = append(c.opts, noHedge)
	}
	return c.opts
}

// retried reports whether the call's configuration retries err.
func (c *call) retried(err error) bool {
	if c.one != nil {
		return retriedBy([]retry.Option{c.one}, err)
	}
	return retriedBy(c.opts, err)
}
