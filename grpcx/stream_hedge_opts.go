package grpcx

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// The caller's grpc.Header, grpc.Trailer and grpc.Peer call options on a
// hedged stream. grpc-go fills them as a stream ends, so every copy given
// them would write them, the losers as they are cancelled, concurrently
// with the winner. The copies run without them; the stream fills them
// once, from the copy it ended with (the winner; or, when it ended
// without a commit, the copy whose failure ended it, if its stream was
// created), when the caller receives the end.

// callOuts are the caller's output call options, removed from the copies'.
type callOuts struct {
	headers  []*metadata.MD
	trailers []*metadata.MD
	peers    []*peer.Peer
}

// splitOuts returns callOpts without the output options, and those; it
// returns callOpts itself, and nil, when there are none.
func splitOuts(callOpts []grpc.CallOption) ([]grpc.CallOption, *callOuts) {
	var outs *callOuts
	var rest []grpc.CallOption
	for i, o := range callOpts {
		var h, t *metadata.MD
		var p *peer.Peer
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			h = o.HeaderAddr
		case *grpc.HeaderCallOption:
			h = o.HeaderAddr
		case grpc.TrailerCallOption:
			t = o.TrailerAddr
		case *grpc.TrailerCallOption:
			t = o.TrailerAddr
		case grpc.PeerCallOption:
			p = o.PeerAddr
		case *grpc.PeerCallOption:
			p = o.PeerAddr
		default:
			if outs != nil {
				rest = append(rest, o)
			}
			continue
		}
		if outs == nil {
			outs = &callOuts{}
			rest = append(rest, callOpts[:i]...)
		}
		if h != nil {
			outs.headers = append(outs.headers, h)
		}
		if t != nil {
			outs.trailers = append(outs.trailers, t)
		}
		if p != nil {
			outs.peers = append(outs.peers, p)
		}
	}
	if outs == nil {
		return callOpts, nil
	}
	return rest, outs
}

// fill gives the caller's output options those of copy c, whose stream
// has ended.
func (o *callOuts) fill(c *hcopy) {
	if o == nil || c == nil || c.cs == nil {
		return
	}
	md, _ := c.cs.Header()
	for _, h := range o.headers {
		*h = copyMD(md)
	}
	for _, t := range o.trailers {
		*t = copyMD(c.cs.Trailer())
	}
	if p, ok := peer.FromContext(c.cs.Context()); ok {
		for _, pp := range o.peers {
			*pp = *p
		}
	}
}
