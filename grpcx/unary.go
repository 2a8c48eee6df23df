package grpcx

import (
	"context"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// unary is the unary interceptor.
func (in *interceptor) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
	if in.err != nil {
		return in.invalid()
	}
	c := &unaryCall{ctx: ctx, set: &in.set, method: method, req: req, reply: reply, cc: cc, invoker: invoker}
	c.opts = in.options(ctx, callOpts)
	// The trailer carries the server's pushback; the caller's slice is not
	// appended to in place.
	c.callOpts = append(callOpts[:len(callOpts):len(callOpts)], grpc.Trailer(&c.trailer))
	return retry.Run(ctx, c.attempt, c.opts...)
}

// unaryCall is one unary call across its attempts.
type unaryCall struct {
	ctx        context.Context // the caller's
	set        *settings
	method     string
	req, reply any
	cc         *grpc.ClientConn
	invoker    grpc.UnaryInvoker
	callOpts   []grpc.CallOption
	opts       []retry.Option
	trailer    metadata.MD // set by grpc-go after each attempt that reached a stream
	n          int         // attempts so far
}

// attempt is the operation the core loop runs.
func (c *unaryCall) attempt(actx context.Context) error {
	c.n++
	c.trailer = nil
	err := c.invoker(attemptContext(actx, c.n), c.method, c.req, c.reply, c.cc, c.callOpts...)
	if err == nil {
		return nil
	}
	return c.set.judge(c.ctx, failure{
		err:        err,
		trailer:    c.trailer,
		idempotent: c.set.isIdempotent(c.method),
		ownTimeout: ownTimeout(c.ctx, actx),
	}, c.opts)
}
