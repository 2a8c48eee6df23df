package grpcx

import (
	"context"
	"strconv"

	"google.golang.org/grpc/metadata"
)

// previousAttemptsMD[i] is the outgoing metadata of attempt i+2 of a call
// whose context has none of its own: grpc-previous-rpc-attempts: i+1.
// They are shared by every call, and never modified: grpc-go only reads
// outgoing metadata, and hands others copies of it
// (metadata.FromOutgoingContext).
var previousAttemptsMD = func() (mds [16]metadata.MD) {
	for i := range mds {
		mds[i] = metadata.MD{previousAttemptsKey: {strconv.Itoa(i + 1)}}
	}
	return mds
}()

// outgoingKey is the key grpc-go's metadata package keeps a context's
// outgoing metadata under, learned by asking it to read a context that
// records the key it is asked for; nil if that did not work, or if the key
// does not find the metadata of contexts made by NewOutgoingContext and
// AppendToOutgoingContext, as a later grpc-go might make it.
var outgoingKey = func() any {
	var p keyProbe
	p.Context = context.Background()
	metadata.FromOutgoingContext(&p)
	k := p.key
	if k == nil {
		return nil
	}
	bg := context.Background()
	if bg.Value(k) != nil ||
		metadata.NewOutgoingContext(bg, nil).Value(k) == nil ||
		metadata.NewOutgoingContext(bg, metadata.MD{"k": {"v"}}).Value(k) == nil ||
		metadata.AppendToOutgoingContext(bg, "k", "v").Value(k) == nil {
		return nil
	}
	return k
}()

// keyProbe is a context that records the key of the last Value asked of it.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

// hasOutgoingMetadata reports whether ctx carries outgoing metadata (what
// metadata.FromOutgoingContext would find), without copying it; true when
// that cannot be told (see outgoingKey).
func hasOutgoingMetadata(ctx context.Context) bool {
	return outgoingKey == nil || ctx.Value(outgoingKey) != nil
}
