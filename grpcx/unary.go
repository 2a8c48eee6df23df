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
	if pol.hedges {
		err = c.runHedged()
	} else {
		_, err = retry.Do(ctx, c.op, pol.opts...)
	}
	c.deliver()
	c.release()
	return err
}

// setCallOptions sets the options each attempt passes to grpc-go: the
// caller's but its grpc.Header and grpc.Trailer, then those that collect
// the trailer (it carries the server's pushback, and tells whether the
// attempt reached a stream) and, when the method is not declared
// idempotent or the caller asked for it, the header (whether the server
// answered before it failed). The caller's header and trailer options get
// only the last attempt's (see deliver). The options are built in buf
// while they fit, so that a call with few options allocates nothing; the
// caller's slice is never appended to in place, and the slice the
// attempts get has no room to append to in place either (an interceptor
// after this one that appends gets a copy, and leaves buf alone).
func (c *unaryCall) setCallOptions(callOpts []grpc.CallOption) {
	c.caller = callOpts
	wantHeader := !c.idempotent
	if len(callOpts) == 0 { // the most common call, spelled out
		c.buf[0] = c.trailerOpt
		n := 1
		if wantHeader {
			c.buf[1], n = c.headerOpt, 2
		}
		c.callOpts = c.buf[:n:n]
		return
	}
	c.callOpts = c.buf[:0]
	for _, o := range callOpts {
		switch o.(type) {
		case grpc.HeaderCallOption, *grpc.HeaderCallOption:
			wantHeader = true
		case grpc.TrailerCallOption, *grpc.TrailerCallOption:
		default:
			c.callOpts = append(c.callOpts, o)
		}
	}
	c.callOpts = append(c.callOpts, c.trailerOpt)
	if wantHeader {
		c.callOpts = append(c.callOpts, c.headerOpt)
	}
	c.callOpts = c.callOpts[:len(c.callOpts):len(c.callOpts)]
}

// deliver gives the caller's grpc.Header and grpc.Trailer options the
// header and trailer of the call's last attempt, as grpc-go does for a
// call without retries: only when that attempt reached a transport stream
// (grpc-go leaves them as they were otherwise). The metadata of an
// attempt that was retried never reaches them: the server may have sent
// it before failing, and the caller must not take it for the answer's.
func (c *unaryCall) deliver() {
	if c.trailer == nil {
		return // the last attempt had no stream, or none ran
	}
	for _, o := range c.caller {
		var h, t *metadata.MD
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			h = o.HeaderAddr
		case *grpc.HeaderCallOption:
			h = o.HeaderAddr
		case grpc.TrailerCallOption:
			t = o.TrailerAddr
		case *grpc.TrailerCallOption:
			t = o.TrailerAddr
		}
		switch {
		case h != nil:
			*h = copyMD(c.header)
		case t != nil:
			*t = copyMD(c.trailer)
		}
	}
}

// copyMD returns a copy of md, which each of the caller's options gets
// (as from grpc-go); nil for nil (a trailers-only response's header).
func copyMD(md metadata.MD) metadata.MD {
	if md == nil {
		return nil
	}
	return md.Copy()
}

// unaryCalls recycles unaryCalls, so that a call that succeeds at once
// allocates nothing more than grpc-go does without the interceptor (but
// the copies of its trailer and header).
var unaryCalls = sync.Pool{New: func() any {
	c := &unaryCall{}
	c.trailerOpt = grpc.Trailer(&c.trailer)
	c.headerOpt = grpc.Header(&c.header)
	c.op = c.attempt
	c.hop = c.hedgedAttempt
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
	caller     []grpc.CallOption // the caller's call options
	callOpts   []grpc.CallOption // those passed to each attempt (see setCallOptions)
	trailer    metadata.MD       // set by grpc-go after each attempt that reached a stream
	header     metadata.MD       // likewise, when asked for; nil for a trailers-only response
	n          int               // attempts so far

	// Built once per pooled value.
	trailerOpt grpc.CallOption                           // grpc.Trailer(&trailer)
	headerOpt  grpc.CallOption                           // grpc.Header(&header)
	op         func(context.Context) (struct{}, error)   // attempt
	hop        func(context.Context) (*unaryCopy, error) // hedgedAttempt
	seq        int32                                     // attempts begun, in a hedged call (atomic)
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
// keeps none of the caller's values alive. Of buf it clears what
// setCallOptions wrote: the options the attempts got, or, when they
// outgrew buf (callOpts is then another array), all of buf, which still
// holds the first of them. Nothing is written past them (see
// setCallOptions), and a call that succeeds at once clears one or two.
func (c *unaryCall) reset() {
	for i := range min(len(c.callOpts), len(c.buf)) {
		c.buf[i] = nil // for one or two, cheaper than clear's memclrHasPointers
	}
	c.ctx, c.set, c.pol, c.req, c.reply, c.cc, c.invoker = nil, nil, nil, nil, nil, nil, nil
	c.method, c.idempotent, c.caller, c.callOpts, c.trailer, c.header, c.n = "", false, nil, nil, nil, nil, 0
	c.seq = 0
}

// attempt is the operation the core loop runs, when the call is not
// hedged: its attempts run one at a time, on the call's own state.
func (c *unaryCall) attempt(actx context.Context) (struct{}, error) {
	c.n++
	c.trailer, c.header = nil, nil
	return struct{}{}, c.try(actx, c.n, c.reply, c.callOpts, &c.trailer, &c.header)
}

// try makes attempt n with actx, receiving into reply with callOpts,
// whose trailer and header options write to *trailer and *header, and
// returns what the core loop sees of its failure (see judge).
func (c *unaryCall) try(actx context.Context, n int, reply any, callOpts []grpc.CallOption, trailer, header *metadata.MD) error {
	err := c.invoker(attemptContext(actx, n), c.method, c.req, reply, c.cc, callOpts...)
	if err == nil {
		return nil
	}
	code := status.Code(err)
	return c.set.judge(c.ctx, failure{
		err:        err,
		trailer:    *trailer,
		method:     c.method,
		idempotent: c.idempotent,
		ownTimeout: code == codes.DeadlineExceeded && ownTimeout(c.ctx, actx, time.Now()),
		// grpc-go sets the trailer (to a non-nil map) whenever the attempt
		// had a transport stream: without one, nothing left the client.
		unsent: *trailer == nil,
		// A response with headers is not trailers-only: the handler ran.
		answered: *header != nil,
	}, c.pol.judge)
}
