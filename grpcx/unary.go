package grpcx

import (
	"context"
	"sync"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// unary is the unary interceptor.
func (in *interceptor) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
	if in.err != nil {
		return in.invalid()
	}
	c := calls.Get().(*unaryCall)
	c.ctx, c.set, c.method, c.req, c.reply, c.cc, c.invoker = ctx, &in.set, method, req, reply, cc, invoker
	c.opts = in.options(ctx, callOpts)
	// The trailer carries the server's pushback. The caller's slice is not
	// appended to in place.
	c.callOpts = append(append(c.buf[:0], callOpts...), c.trailerOpt)
	err := retry.Run(ctx, c.op, c.opts...)
	c.release()
	return err
}

// calls recycles unaryCalls, so that a call that succeeds at once
// allocates nothing more than grpc-go does without the interceptor (but
// the copy of its trailer).
var calls = sync.Pool{New: func() any {
	c := &unaryCall{}
	c.trailerOpt = grpc.Trailer(&c.trailer)
	c.op = c.attempt
	return c
}}

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

	// Built once per pooled value.
	trailerOpt grpc.CallOption // grpc.Trailer(&trailer)
	op         func(context.Context) error
	buf        [6]grpc.CallOption
}

// release clears what the call refers to and returns it to the pool. The
// attempts have returned: grpc-go writes the trailer before the invoker
// returns, and keeps no reference to the call options.
func (c *unaryCall) release() {
	clear(c.callOpts)
	c.ctx, c.set, c.req, c.reply, c.cc, c.invoker = nil, nil, nil, nil, nil, nil
	c.method, c.callOpts, c.opts, c.trailer, c.n = "", nil, nil, nil, 0
	calls.Put(c)
}

// attempt is the operation the core loop runs.
func (c *unaryCall) attempt(actx context.Context) error {
	c.n++
	c.trailer = nil
	err := c.invoker(attemptContext(actx, c.n), c.method, c.req, c.reply, c.cc, c.callOpts...)
	if err == nil {
		return nil
	}
	code := status.Code(err)
	return c.set.judge(c.ctx, failure{
		err:        err,
		trailer:    c.trailer,
		idempotent: c.set.isIdempotent(c.method),
		ownTimeout: code == codes.DeadlineExceeded && ownTimeout(c.ctx, actx, time.Now()),
		// grpc-go sets the trailer (to a non-nil map) whenever the attempt
		// had a transport stream: without one, nothing left the client.
		unsent: c.trailer == nil,
	}, c.opts)
}
