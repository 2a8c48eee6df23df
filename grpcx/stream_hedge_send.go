package grpcx

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// The sending side of a hedged stream. Until the stream is final, the
// caller's messages are kept in a log (s.sent) and each open copy has a
// sender of its own, pump, which sends it the log from its first message,
// at the copy's pace: a copy whose server stops reading (its flow control
// full) holds up neither the others nor the caller. Once the stream is
// final (committed, or bound to one copy because it outgrew the replay
// limit), the caller waits until that copy has every message of the log,
// then sends on it itself, as on a grpc-go stream.

// SendMsg implements [grpc.ClientStream]. Before the commit, a copy of m
// is kept and goes to every open copy, and to any copy started later;
// SendMsg does not wait for the copies to send it. A message that would
// take the copies kept beyond [Config].ReplayLimit, or that is not a
// protobuf message, binds the stream to the open copy to which the most
// messages were sent (A6): the others are cancelled and no further copy
// starts; SendMsg then waits until that copy has every message kept, and
// sends m on it. After the commit, m goes to the winner only (after the
// messages kept before it), with grpc-go's flow control. A copy on which
// a send fails has ended (its failure, or a message grpc-go could not
// encode, reaches RecvMsg): SendMsg returns nil before the stream is
// final, and io.EOF once the stream has ended, as grpc-go does.
func (s *hedgedStream) SendMsg(m any) error {
	s.mu.Lock()
	if s.panicked {
		s.mu.Unlock()
		s.repanic()
	}
	one, ok := s.bound()
	if !ok {
		if s.keep(m) {
			s.kickAll()
			s.mu.Unlock()
			return nil
		}
		one = s.bind()
		s.mu.Unlock()
		s.wakeDriver()
	} else {
		s.mu.Unlock()
	}
	if one == nil {
		return io.EOF // the stream ended: RecvMsg has why
	}
	<-one.pumped // the messages kept before m, first
	one.rearm(s)
	err := one.cs.SendMsg(m)
	if err != nil && s.isPanicked() {
		s.repanic() // the stream ended because of a panic
	}
	return err
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

// CloseSend implements [grpc.ClientStream]: every open copy (or the
// winner), and any copy started later, closes its sending side after the
// messages kept.
func (s *hedgedStream) CloseSend() error {
	s.mu.Lock()
	s.closed = true
	one, ok := s.bound()
	if !ok {
		s.kickAll()
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if one == nil {
		return nil
	}
	<-one.pumped
	return one.cs.CloseSend()
}

// keep records a copy of m for the copies and reports whether it could;
// when it could not, the stream is no longer replayable (unkept says
// why). s.mu is held.
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

// bind makes the stream final because it is no longer replayable, and
// binds it to the open copy to which the most messages were sent (the
// oldest of those), cancelling the others; it returns that copy, nil if
// none is open. Its sender goes on with the log. s.mu is held.
func (s *hedgedStream) bind() *hcopy {
	s.final = true
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
		best.kick()
	} else {
		s.live = nil
	}
	return best
}

// wakeDriver tells the driver the stream became final, or panicked.
func (s *hedgedStream) wakeDriver() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// kickAll wakes the sender of every open copy. s.mu is held.
func (s *hedgedStream) kickAll() {
	for _, c := range s.live {
		c.kick()
	}
}

// kick wakes c's sender.
func (c *hcopy) kick() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// pump is copy c's sender: it sends c the log from its first message, as
// messages are kept, and CloseSend after them once the caller closed. It
// ends when c ends or loses, or, once the stream is final, when c has
// every message of the log: the caller then sends on c itself. A send
// grpc-go fails other than with io.EOF (a message it cannot encode) ends
// c with that failure.
func (s *hedgedStream) pump(c *hcopy) {
	returned := false
	defer close(c.pumped)
	defer s.recoverCopy(c, &returned)
	closed := false
	for {
		m, closing, done := s.next(c, closed)
		switch {
		case done:
			returned = true
			return
		case m != nil:
			c.rearm(s)
			if err := c.cs.SendMsg(m); err != nil {
				if err != io.EOF {
					c.cancel(&sendError{err: err})
				}
				returned = true
				return // it ended: its status reaches the driver
			}
			s.mu.Lock()
			c.sent++
			s.mu.Unlock()
		case closing:
			closed = true
			_ = c.cs.CloseSend() // a copy that failed shows it to the driver
		default:
			select {
			case <-c.more:
			case <-c.ctx.Done():
				returned = true
				return
			}
		}
	}
}

// next returns what c's sender does next: send m, close, end (done), or
// wait for more (none).
func (s *hedgedStream) next(c *hcopy, closed bool) (m proto.Message, closing, done bool) {
	if c.ctx.Err() != nil {
		return nil, false, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case c.sent < len(s.sent):
		return s.sent[c.sent], false, false
	case s.closed && !closed:
		return nil, true, false
	case s.final:
		if s.won == c || s.target == c {
			s.sent, s.size = nil, 0 // the caller sends on c itself from now on
		}
		return nil, false, true
	}
	return nil, false, false
}

// sendError is the cause with which a copy is cancelled when grpc-go
// could not send it a message (other than because it ended).
type sendError struct{ err error }

func (e *sendError) Error() string {
	return "grpcx: a message could not be sent on a copy of a hedged stream: " + e.err.Error()
}

func (e *sendError) Unwrap() error { return e.err }
