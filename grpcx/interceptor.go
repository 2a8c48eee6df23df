package grpcx

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

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
	base calls // the policy of a call without per-call options
	err  error // invalid cfg or options
}

// calls is the policy of a call, in the forms the interceptors use it.
type calls struct {
	policy  *retry.Policy
	opts    []retry.Option // {policy}, ready to pass to retry.Run
	hedges  bool           // policy hedges (see hedge.go)
	single  []retry.Option // {lone}, when it hedges
	lone    *retry.Policy  // policy without hedging (policy itself when it does not hedge): a call that is not hedged
	judge   *retry.Policy  // policy without effects or limits: see retriedBy
	timeout time.Duration  // policy's attempt timeout, for streams; 0 if none
}

func newInterceptor(cfg Config, opts []retry.Option) *interceptor {
	s, err := cfg.settle()
	if err != nil {
		return &interceptor{err: err}
	}
	in := &interceptor{set: s}
	p, err := retry.NewPolicy(opts...)
	if err == nil {
		in.base, err = newCalls(p, true)
	}
	in.err = err
	return in
}

// newCalls derives from p what the interceptors need of it; the attempt
// timeout only for a stream (Do applies it to a unary attempt).
func newCalls(p *retry.Policy, stream bool) (calls, error) {
	// The classification policy: everything with an effect (breaker,
	// budget, hook) and every limit but the classifiers removed, so that
	// Failed of its first attempt says only whether the error is retried.
	j, err := p.With(retry.WithMaxAttempts(2), retry.WithBreaker(nil), retry.WithBudget(nil),
		retry.WithNotify(nil), retry.WithObserver(nil), retry.WithAttemptTimeout(0), retry.WithMaxElapsed(0),
		retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		return calls{}, err
	}
	c := calls{policy: p, opts: []retry.Option{p}, judge: j, lone: p}
	if p.MaxInFlight() > 1 {
		// Without hedging: a call that is not hedged neither hedges nor
		// teaches WithAdaptiveHedge's estimator (only hedged calls do).
		single, err := p.With(retry.WithHedge(0, 1))
		if err != nil {
			return calls{}, err
		}
		c.hedges, c.single, c.lone = true, []retry.Option{single}, single
	}
	if stream {
		c.timeout = attemptTimeout(p)
	}
	return c, nil
}

// attemptTimeout returns p's attempt timeout ([retry.WithAttemptTimeout]),
// which a stream applies itself, or 0 if it has none. The core keeps it to
// itself, so it is read from the deadline of an attempt of a call without
// effects: the time left as the attempt starts, short of the timeout by
// the time the core takes to start it (well under a millisecond; nothing
// at all in a testing/synctest bubble). The best of three such readings
// is kept, so that one preempted reading does not cut it shorter.
func attemptTimeout(p *retry.Policy) time.Duration {
	var d time.Duration
	for range 3 {
		_ = retry.Run(context.Background(), func(actx context.Context) error {
			if dl, ok := actx.Deadline(); ok {
				d = max(d, time.Until(dl), 1)
			}
			return nil
		}, p, retry.WithMaxAttempts(1), retry.WithBreaker(nil), retry.WithBudget(nil), retry.WithNotify(nil), retry.WithMaxElapsed(0),
			retry.WithObserver(nil), retry.WithHedge(0, 1))
		if d == 0 {
			return 0
		}
	}
	return d
}

// invalid is the error a call fails with when its configuration is
// invalid.
func invalid(err error) error { return &retry.Error{Reason: err} }

type optionsKey struct{}

// contextOptions is what WithOptions puts on a context.
type contextOptions struct {
	opts []retry.Option
	err  error // WithOptions was called with a nil context
}

// WithOptions returns a copy of ctx carrying retry options for the calls
// made with it. The interceptors apply them after their own, so they
// override the client-level policy for these calls only; options of a
// [CallOptions] call option apply after them. Calls nest: options of an
// inner WithOptions apply after those of an outer one. Invalid options
// fail the call with an error wrapping [retry.ErrInvalidConfig]. A nil
// ctx does not panic: the context returned (a child of
// [context.Background]) fails every call made with it in the same way.
func WithOptions(ctx context.Context, opts ...retry.Option) context.Context {
	if !optionsUsed.Load() {
		optionsUsed.Store(true)
	}
	if ctx == nil {
		return context.WithValue(context.Background(), optionsKey{}, contextOptions{
			err: fmt.Errorf("%w: grpcx.WithOptions: nil context", retry.ErrInvalidConfig)})
	}
	prev := fromContext(ctx)
	prev.opts = append(slices.Clip(prev.opts), opts...)
	return context.WithValue(ctx, optionsKey{}, prev)
}

// optionsUsed is set by the first WithOptions, for good. Until then no
// context carries options, and a call need not look for them (a
// ctx.Value walk up the whole chain of contexts). A context made by
// WithOptions reaches a call only after WithOptions returned (in the same
// goroutine, or through whatever handed the context over), so the call
// sees the flag set.
var optionsUsed atomic.Bool

func fromContext(ctx context.Context) contextOptions {
	o, _ := ctx.Value(optionsKey{}).(contextOptions)
	return o
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

// policy returns the call's policy: the interceptor's, then the options
// of ctx, then those of the call options. Without per-call options it
// returns the interceptor's own, allocating nothing. An error wraps
// retry.ErrInvalidConfig.
func (in *interceptor) policy(ctx context.Context, callOpts []grpc.CallOption, stream bool) (*calls, error) {
	if in.err != nil {
		return nil, in.err
	}
	var extra contextOptions
	if optionsUsed.Load() {
		extra = fromContext(ctx)
		if extra.err != nil {
			return nil, extra.err
		}
	}
	var perCall []retry.Option
	for _, o := range callOpts {
		if c, ok := o.(callOptions); ok {
			perCall = append(perCall, c.opts...)
		}
	}
	if len(extra.opts) == 0 && len(perCall) == 0 {
		return &in.base, nil
	}
	p, err := in.base.policy.With(slices.Concat(extra.opts, perCall)...)
	if err != nil {
		return nil, err
	}
	c, err := newCalls(p, stream)
	return &c, err
}

// attemptContext returns ctx with the metadata of attempt n (from 1):
// grpc-previous-rpc-attempts from the second attempt on. A ctx without
// outgoing metadata gets one of previousAttemptsMD as its metadata
// (metadata.NewOutgoingContext: a context, and the value boxed in it);
// any other gets the pair appended to its own (AppendToOutgoingContext:
// two slices more, and grpc-go lowercases the appended key twice and
// checks it, on each retry).
func attemptContext(ctx context.Context, n int) context.Context {
	if n < 2 {
		return ctx
	}
	if n-2 < len(previousAttemptsMD) && !hasOutgoingMetadata(ctx) {
		return metadata.NewOutgoingContext(ctx, previousAttemptsMD[n-2])
	}
	return metadata.AppendToOutgoingContext(ctx, previousAttemptsKey, strconv.Itoa(n-1))
}
