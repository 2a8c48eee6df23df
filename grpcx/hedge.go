package grpcx

import (
	"context"
	"sync/atomic"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Hedged unary calls (a policy with retry.WithHedge or
// retry.WithAdaptiveHedge): the copies of a call run at once, so each
// copy but the first receives into a reply and metadata of its own, and
// the winner's are given to the caller once every copy has returned.
// Only a call declared idempotent, whose reply is a protobuf message, is
// hedged; any other runs on the policy without hedging (calls.single).

// unaryCopy is the state of one copy of a hedged call after the first.
type unaryCopy struct {
	reply           proto.Message
	trailer, header metadata.MD
	callOpts        []grpc.CallOption
}

// runHedged runs the call with the policy's hedging when it may be sent
// twice, and gives the caller's reply and metadata those of the copy the
// call ended with.
func (c *unaryCall) runHedged() error {
	reply, isProto := c.reply.(proto.Message)
	if !c.idempotent || !isProto {
		_, err := retry.Do(c.ctx, c.op, c.pol.single...)
		return err
	}
	cp, err := retry.DoHedged(c.ctx, c.hop, c.pol.opts...)
	if cp != nil {
		// Every copy has returned: grpc-go wrote what it writes.
		c.trailer, c.header = cp.trailer, cp.header
		if err == nil {
			proto.Reset(reply)
			proto.Merge(reply, cp.reply)
		}
	}
	return err
}

// hedgedAttempt is the operation of a hedged call. The first copy uses
// the call's own reply and metadata (nil result); every later one, a
// hedge or a retry, its own (its result), since it may run beside
// another. Its number, which grpc-previous-rpc-attempts reports, counts
// the copies begun before it.
func (c *unaryCall) hedgedAttempt(actx context.Context) (*unaryCopy, error) {
	n := int(atomic.AddInt32(&c.seq, 1))
	if n == 1 {
		c.n = 1
		return nil, c.try(actx, 1, c.reply, c.callOpts, &c.trailer, &c.header)
	}
	cp := &unaryCopy{reply: c.reply.(proto.Message).ProtoReflect().New().Interface()}
	cp.callOpts = make([]grpc.CallOption, len(c.callOpts))
	for i, o := range c.callOpts {
		switch o {
		case c.trailerOpt:
			o = grpc.Trailer(&cp.trailer)
		case c.headerOpt:
			o = grpc.Header(&cp.header)
		}
		cp.callOpts[i] = o
	}
	return cp, c.try(actx, n, cp.reply, cp.callOpts, &cp.trailer, &cp.header)
}
