package httpx

import (
	"context"
	"slices"

	"github.com/retrykit/retry"
)

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
