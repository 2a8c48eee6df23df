package grpcx

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// The sending side of a hedged stream: every message goes to every open
// copy, and is kept for the copies opened later, until the stream commits
// or outgrows the replay limit.

// SendMsg implements [grpc.ClientStream]. Before the commit, m goes to
// every open copy, and a copy of it is kept for the copies started later.
// A message that would take the copies kept beyond [Config].ReplayLimit,
// or that is not a protobuf message, binds the stream to the open copy to
// which the most messages were sent (A6): the others are cancelled and no
// further copy starts. A send that fails on a copy returns nil: the copy
// has ended, and the driver learns why. After the commit, m goes to the
// winner only.
func (s *hedgedStream) SendMsg(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	if one, ok := s.bound(); ok {
		s.mu.Unlock()
		if one == nil {
			return io.EOF // the stream ended: RecvMsg has why
		}
		one.rearm(s)
		return one.cs.SendMsg(m)
	}
	if !s.keep(m) {
		one := s.bind()
		s.mu.Unlock()
		s.wakeDriver()
		if one == nil {
			return io.EOF
		}
		one.rearm(s)
		return one.cs.SendMsg(m)
	}
	live := append([]*hcopy(nil), s.live...)
	s.mu.Unlock()
	for _, c := range live {
		c.rearm(s)
		if err := c.cs.SendMsg(m); err != nil && err != io.EOF {
			s.unkeepLast()
			return err // a message grpc-go cannot send (its encoding failed): on no copy
		}
		c.sent++
	}
	return nil
}

// bound returns the one copy sends go to once the stream is final (the
// winner, or the copy it is bound to; nil when it ended) and true; false
// while sends go to every open copy. s.mu is held.
func (s *hedgedStream) bound() (*hcopy, bool) {
	switch {
	case s.won != nil:
		return s.won, true
	case s.end != nil:
		return nil, true
	case s.final:
		return s.target, true
	}
	return nil, false
}

// CloseSend implements [grpc.ClientStream]: it closes the sending side of
// every open copy (or of the winner), and of any copy started later.
func (s *hedgedStream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	s.closed = true
	if one, ok := s.bound(); ok {
		s.mu.Unlock()
		if one == nil {
			return nil
		}
		return one.cs.CloseSend()
	}
	live := append([]*hcopy(nil), s.live...)
	s.mu.Unlock()
	for _, c := range live {
		c.rearm(s)
		_ = c.cs.CloseSend() // a copy that failed shows it to the driver
	}
	return nil
}

// keep records a copy of m for the copies started later and reports
// whether it could; when it could not, the stream is no longer
// replayable (unkept says why). s.mu is held.
func (s *hedgedStream) keep(m any) bool {
	pm, ok := m.(proto.Message)
	if !ok {
		s.unkept = fmt.Sprintf("it sent a %T, which is not a protobuf message and cannot be kept", m)
		return false
	}
	n := proto.Size(pm)
	if s.size+n > s.set.replayLimit {
		s.unkept = fmt.Sprintf("its sent messages outgrew the replay limit (Config.ReplayLimit, %d bytes)", s.set.replayLimit)
		return false
	}
	s.sent = append(s.sent, proto.Clone(pm))
	s.size += n
	return true
}

// unkeepLast forgets the message kept last, which could not be sent.
func (s *hedgedStream) unkeepLast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := len(s.sent); k > 0 && !s.final {
		s.size -= proto.Size(s.sent[k-1])
		s.sent = s.sent[:k-1]
	}
}

// bind makes the stream final because it is no longer replayable, and
// binds it to the open copy to which the most messages were sent (the
// oldest of those), cancelling the others; it returns that copy, nil if
// none is open. s.mu and s.sendMu are held (sent counts are stable).
func (s *hedgedStream) bind() *hcopy {
	s.final = true
	s.sent, s.size = nil, 0
	var best *hcopy
	for _, c := range s.live {
		if best == nil || c.sent > best.sent {
			best = c
		}
	}
	for _, c := range s.live {
		if c != best {
			c.cancel(errHedgeLost)
		}
	}
	s.target = best
	if best != nil {
		s.live = []*hcopy{best}
		best.live = !best.expired // the attempt timeout no longer applies
		best.stopTimer()
	} else {
		s.live = nil
	}
	return best
}

// wakeDriver tells the driver the stream became final.
func (s *hedgedStream) wakeDriver() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
