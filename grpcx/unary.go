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
	pol, err := in.policy(ctx, callOpts, false)
	if err != nil {
		return invalid(err)
	}
	c := unaryCalls.Get().(*unaryCall)
	c.ctx, c.set, c.method, c.req, c.reply, c.cc, c.invoker = ctx, &in.set, method, req, reply, cc, invoker
	c.pol, c.idempotent = pol, in.set.isIdempotent(method, callOpts)
	c.setCallOptions(callOpts)
	err = retry.Run(ctx, c.op, pol.opts...)
	c.release()
	return err
}

// setCallOptions sets the options each attempt passes to grpc-go: the
// caller's, then those that collect the trailer (it carries the server's
// pushback) and the header (whether the server answered before it failed,
// which commits the call). They are built in buf while they fit, so that
// a call with few options allocates nothing; the caller's slice is never
// appended to in place.
func (c *unaryCall) setCallOptions(callOpts []grpc.CallOption) {
	c.callOpts = append(append(c.buf[:0], callOpts...), c.trailerOpt, c.headerOpt)
}

// unaryCalls recycles unaryCalls, so that a call that succeeds at once
// allocates nothing more than grpc-go does without the interceptor (but
// the copies of its trailer and header).
var unaryCalls = sync.Pool{New: func() any {
	c := &unaryCall{}
	c.trailerOpt = grpc.Trailer(&c.trailer)
	c.headerOpt = grpc.Header(&c.header)
	c.op = c.attempt
	return c
}}

// unaryCall is one unary call across its attempts.
type unaryCall struct {
	ctx        context.Context // the caller's
	set        *settings
	pol        *calls
	method     string
	idempotent bool
	req, reply any
	cc         *grpc.ClientConn
	invoker    grpc.UnaryInvoker
	callOpts   []grpc.CallOption
	trailer    metadata.MD // set by grpc-go after each attempt that reached a stream
	header     metadata.MD // likewise; nil for a trailers-only response
	n          int         // attempts so far

	// Built once per pooled value.
	trailerOpt grpc.CallOption // grpc.Trailer(&trailer)
	headerOpt  grpc.CallOption // grpc.Header(&header)
	op         func(context.Context) error
	buf        [6]grpc.CallOption
}

// release clears what the call refers to and returns it to the pool. The
// attempts have returned: grpc-go writes the trailer and header before
// the invoker returns, and keeps no reference to the call options.
func (c *unaryCall) release() {
	c.reset()
	unaryCalls.Put(c)
}

// reset clears every reference to the call, so that a pooled unaryCall
// keeps none of the caller's values alive. buf is cleared whole: when the
// options outgrew it, callOpts is another array, but buf still holds the
// first of them.
func (c *unaryCall) reset() {
	clear(c.buf[:])
	c.ctx, c.set, c.pol, c.req, c.reply, c.cc, c.invoker = nil, nil, nil, nil, nil, nil, nil
	c.method, c.idempotent, c.callOpts, c.trailer, c.header, c.n = "", false, nil, nil, nil, 0
}

// attempt is the operation the core loop runs.
func (c *unaryCall) attempt(actx context.Context) error {
	c.n++
	c.trailer, c.header = nil, nil
	err := c.invoker(attemptContext(actx, c.n), c.method, c.req, c.reply, c.cc, c.callOpts...)
	if err == nil {
		return nil
	}
	code := status.Code(err)
	return c.set.judge(c.ctx, failure{
		err:        err,
		trailer:    c.trailer,
		method:     c.method,
		idempotent: c.idempotent,
		ownTimeout: code == codes.DeadlineExceeded && ownTimeout(c.ctx, actx, time.Now()),
		// grpc-go sets the trailer (to a non-nil map) whenever the attempt
		// had a transport stream: without one, nothing left the client.
		unsent: c.trailer == nil,
		// A response with headers is not trailers-only: the handler ran.
		answered: c.header != nil,
	}, c.pol.judge)
}
