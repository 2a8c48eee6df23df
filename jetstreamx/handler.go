package jetstreamx

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// Handler handles one delivery of a message, as one attempt of the
// policy. It returns nil when the message is done, or an error marked as
// for [retry.Do] ([retry.Permanent], [retry.After], a classifier's
// verdict); httpx and grpcx already turn a server's Retry-After or
// pushback into retry.After. The adapter acknowledges the message: a
// handler must not call Ack, Nak or Term itself (the adapter's own
// acknowledgement would then fail, and is reported to Config.OnError).
//
// ctx is the context given to [Retrier.Handler], with what the policy's
// observer adds (a span). When it ends (the consumer is stopping), a
// handler that returns an error is not counted as an attempt, and its
// message comes back after Config.Defer.
type Handler func(ctx context.Context, msg jetstream.Msg) error

// Handler returns a jetstream.MessageHandler for the consumer cons that
// runs h on each delivery as one attempt of r's policy (see the package
// documentation for what each outcome does). Pass it to cons.Consume, or
// call it with each message of cons.Messages or Fetch.
//
// ctx is the parent of every handler's context: cancel it to tell running
// handlers that the consumer is stopping. It also bounds the look-up of
// the dead-letter stream that Handler makes.
//
// Handler checks the consumer's configuration (as cons.CachedInfo reports
// it) against the policy, and returns an error wrapping
// [retry.ErrInvalidConfig] when they contradict each other: an
// acknowledgement policy other than AckExplicit, a BackOff list, a
// MaxDeliver below the policy's attempt limit, a keep-alive interval not
// shorter than AckWait, a dead-letter subject the consumer itself reads.
// It also fails when no stream captures the dead-letter subject, or r, ctx,
// cons or h is nil.
func (r *Retrier) Handler(ctx context.Context, cons jetstream.Consumer, h Handler) (jetstream.MessageHandler, error) {
	switch {
	case !r.valid():
		return nil, ErrNilRetrier
	case ctx == nil:
		return nil, invalid("a nil context")
	case cons == nil:
		return nil, invalid("a nil jetstream.Consumer")
	case h == nil:
		return nil, invalid("a nil Handler")
	}
	info := cons.CachedInfo()
	if info == nil {
		return nil, errors.New("jetstreamx: the consumer has no cached info (make it with CreateConsumer, Consumer or CreateOrUpdateConsumer)")
	}
	lim, err := r.check(info)
	if err != nil {
		return nil, err
	}
	if err := r.checkDeadLetter(ctx, info); err != nil {
		return nil, err
	}
	return func(msg jetstream.Msg) {
		if msg == nil {
			r.report(nil, errors.New("jetstreamx: the handler was called with a nil message"))
			return
		}
		r.deliver(ctx, lim, h, msg)
	}, nil
}
