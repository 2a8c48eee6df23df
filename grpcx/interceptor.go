package grpcx

import (
	"context"
	"slices"
	"strconv"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// previousAttemptsKey is the metadata gRFC A6 sets on every attempt after
// the first: the number of attempts before it.
const previousAttemptsKey = "grpc-previous-rpc-attempts"

// UnaryClientInterceptor returns an interceptor that retries unary calls
// as cfg and the retry options say; install it with
// [grpc.WithChainUnaryInterceptor] (or [grpc.WithUnaryInterceptor]).
//
// The options are those of the core loop ([retry.WithMaxAttempts],
// [retry.WithAttemptTimeout], [retry.WithBudget], a [*retry.Policy] and so
// on), followed, for one call, by any set on its context with
// [WithOptions] and then by those of a [CallOptions] call option. They are
// validated once, here: if they or cfg are invalid, every call returns a
// [*retry.Error] whose reason wraps [retry.ErrInvalidConfig], without
// reaching the server. (An interceptor cannot return an error when it is
// built; failing each call, like httpx.NewTransport does, keeps a bad
// configuration from passing silently or panicking.)
//
// A call that fails returns a [*retry.Error]: status.Code and
// status.FromError still find the last attempt's status through it, and
// [errors.Is] finds the reason the retries stopped. The interceptor is
// safe for concurrent use.
func UnaryClientInterceptor(cfg Config, opts ...retry.Option) grpc.UnaryClientInterceptor {
	return newInterceptor(cfg, opts).unary
}

// StreamClientInterceptor returns an interceptor that retries streaming
// calls as cfg and the retry options say, in the ways safe for a stream
// (see the package documentation); install it with
// [grpc.WithChainStreamInterceptor] (or [grpc.WithStreamInterceptor]).
// Options and invalid configurations are handled as by
// [UnaryClientInterceptor]: an invalid one fails every stream at its
// creation. The interceptor is safe for concurrent use; each stream it
// returns is safe for one goroutine sending and another receiving at the
// same time, as grpc-go's own streams are.
func StreamClientInterceptor(cfg Config, opts ...retry.Option) grpc.StreamClientInterceptor {
	return newInterceptor(cfg, opts).stream
}

// interceptor holds what the unary and stream interceptors share.
type interceptor struct {
	set  settings
	opts []retry.Option // the policy alone, ready to pass to retry.Do
	err  error          // invalid cfg or options
}

func newInterceptor(cfg Config, opts []retry.Option) *interceptor {
	p, err := retry.NewPolicy(opts...)
	s, cerr := cfg.settle()
	if cerr != nil {
		err = cerr
	}
	return &interceptor{set: s, opts: []retry.Option{p}, err: err}
}

// invalid is the error every call of an invalid interceptor returns.
func (in *interceptor) invalid() error { return &retry.Error{Reason: in.err} }

type optionsKey struct{}

// WithOptions returns a copy of ctx carrying retry options for the calls
// made with it. The interceptors apply them after their own, so they
// override the client-level policy for these calls only; options of a
// [CallOptions] call option apply after them. Calls nest: options of an
// inner WithOptions apply after those of an outer one. Invalid options
// fail the call with an error wrapping [retry.ErrInvalidConfig].
func WithOptions(ctx context.Context, opts ...retry.Option) context.Context {
	prev := contextOptions(ctx)
	return context.WithValue(ctx, optionsKey{}, append(slices.Clip(prev), opts...))
}

func contextOptions(ctx context.Context) []retry.Option {
	opts, _ := ctx.Value(optionsKey{}).([]retry.Option)
	return opts
}

// CallOptions returns a [grpc.CallOption] carrying retry options for one
// call, applied after the interceptor's own and after those of
// [WithOptions]:
//
//	resp, err := client.UnaryCall(ctx, req, grpcx.CallOptions(retry.WithMaxAttempts(2)))
//
// grpc-go itself ignores it; without one of this package's interceptors
// it has no effect. Invalid options fail the call with an error wrapping
// [retry.ErrInvalidConfig].
func CallOptions(opts ...retry.Option) grpc.CallOption {
	return callOptions{opts: slices.Clone(opts)}
}

type callOptions struct {
	grpc.EmptyCallOption
	opts []retry.Option
}

// options returns the call's options: the interceptor's policy, then
// those of ctx, then those of the call options. Without per-call options
// it returns the interceptor's own slice, allocating nothing.
func (in *interceptor) options(ctx context.Context, callOpts []grpc.CallOption) []retry.Option {
	extra := contextOptions(ctx)
	var perCall []retry.Option
	for _, o := range callOpts {
		if c, ok := o.(callOptions); ok {
			perCall = append(perCall, c.opts...)
		}
	}
	if len(extra) == 0 && len(perCall) == 0 {
		return in.opts
	}
	return slices.Concat(in.opts, extra, perCall)
}

// attemptContext returns ctx with the metadata of attempt n (from 1):
// grpc-previous-rpc-attempts from the second attempt on.
func attemptContext(ctx context.Context, n int) context.Context {
	if n < 2 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, previousAttemptsKey, strconv.Itoa(n-1))
}
