package grpcx

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// The caller's grpc.Header, grpc.Trailer, grpc.Peer and grpc.OnFinish
// call options on a hedged stream. grpc-go fills the first three as a
// stream ends, and calls OnFinish then, so every copy given them would
// write them (or call it), the losers as they are cancelled, concurrently
// with the winner. The copies run without them; the stream fills them
// once, from the copy it ended with: the winner, as grpc-go finishes its
// stream (when the caller receives its end, or its context ends) or when
// the caller receives its end; or, when the stream ended without a
// commit, the copy whose failure ended it (if its stream was created),
// once every copy was reported. OnFinish runs once per stream, as grpc-go
// promises, after the options are filled: with the winner's end, as
// grpc-go's stream of the winner finishes; or, when the stream ended
// without a commit, with the error that ended it.

// callOuts are the caller's output call options, removed from the copies'.
type callOuts struct {
	headers  []*metadata.MD
	trailers []*metadata.MD
	peers    []*peer.Peer
	finish   []func(error)
}

// splitOuts returns callOpts without the output options, and those; it
// returns callOpts itself, and nil, when there are none.
func splitOuts(callOpts []grpc.CallOption) ([]grpc.CallOption, *callOuts) {
	var outs *callOuts
	var rest []grpc.CallOption
	for i, o := range callOpts {
		var h, t *metadata.MD
		var p *peer.Peer
		var f func(error)
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
		case grpc.OnFinishCallOption:
			f = o.OnFinish
		case *grpc.OnFinishCallOption:
			f = o.OnFinish
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
		if f != nil {
			outs.finish = append(outs.finish, f)
		}
	}
	if outs == nil {
		return callOpts, nil
	}
	return rest, outs
}

// fill gives the caller's output options those of copy c, whose stream
// has ended, and its trailer (nil if it cannot be read).
func (o *callOuts) fill(c *hcopy, trailer metadata.MD) {
	if o == nil || c == nil || c.cs == nil {
		return
	}
	md, _ := c.cs.Header()
	for _, h := range o.headers {
		*h = copyMD(md)
	}
	for _, t := range o.trailers {
		*t = copyMD(trailer)
	}
	if p, ok := peer.FromContext(c.cs.Context()); ok {
		for _, pp := range o.peers {
			*pp = *p
		}
	}
}

// copyOpts returns the call options of copy c: the caller's without its
// output options and, when the caller gave any, an OnFinish that tells
// the stream c finished.
func (s *hedgedStream) copyOpts(c *hcopy) []grpc.CallOption {
	if s.outs == nil {
		return s.callOpts
	}
	return append(s.callOpts[:len(s.callOpts):len(s.callOpts)], grpc.OnFinish(func(err error) { s.copyFinished(c, err) }))
}

// copyFinished records that grpc-go finished copy c's stream with err; the
// winner's end is the stream's.
func (s *hedgedStream) copyFinished(c *hcopy, err error) {
	s.mu.Lock()
	c.finished, c.finErr = true, err
	s.mu.Unlock()
	s.onFinishWon()
}

// onFinishWon runs the caller's OnFinish callbacks, once, with the
// winner's end, once it finished.
func (s *hedgedStream) onFinishWon() {
	s.mu.Lock()
	w := s.won
	run := w != nil && w.finished && !s.finCalled && !s.panicked
	if run {
		s.finCalled = true
	}
	s.mu.Unlock()
	if run {
		s.fillOnce(w, w.cs.Trailer()) // its stream has ended
		s.outs.onFinish(w.finErr)
	}
}

// onFinishEnd runs the caller's OnFinish callbacks, once, with the error
// that ended a stream without a commit; the driver calls it once every
// copy was reported.
func (s *hedgedStream) onFinishEnd() {
	s.mu.Lock()
	run := s.won == nil && s.end != nil && !s.finCalled && s.outs != nil
	if run {
		s.finCalled = true
	}
	end, last := s.end, s.last
	s.mu.Unlock()
	if run {
		if last != nil {
			s.fillOnce(last, s.trailerOf(last))
		}
		s.outs.onFinish(end)
	}
}

// fillOnce fills the caller's output options, once, from copy c, whose
// stream has ended, with its trailer (nil if it cannot be read).
// A caller that comes second returns once the first has filled them.
func (s *hedgedStream) fillOnce(c *hcopy, trailer metadata.MD) {
	s.filled.Do(func() { s.outs.fill(c, trailer) })
}

func (o *callOuts) onFinish(err error) {
	if o == nil {
		return
	}
	for _, f := range o.finish {
		f(err)
	}
}
