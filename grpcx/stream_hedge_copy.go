package grpcx

import (
	"context"
	"io"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
)

// hcopy is one copy of a hedged stream: the first attempt, a hedge or a
// retry.
type hcopy struct {
	pr     retry.Progress // its admission, reported once by the driver
	ctx    context.Context
	cancel context.CancelCauseFunc
	cs     grpc.ClientStream // nil until it is open
	timer  *time.Timer       // the attempt timeout, until the first response; nil if none
	start  time.Time
	more   chan struct{} // (1) wakes its sender: a message was kept, or the stream closed or became final
	pumped chan struct{} // closed when its sender (pump) returned, or never started

	sent  int   // messages of the log sent on it; under hedgedStream.mu
	end   error // its end, when it ended with OK before any header (it won so)
	ended bool  // its stream ended before its first outcome was reported: its trailer can be read

	// Under hedgedStream.mu, as attempt's: which of the attempt timeout
	// and the first response came first.
	live    bool
	expired bool

	finished bool  // grpc-go ran its OnFinish; under hedgedStream.mu
	finErr   error // with that error
}

// copyEvent is the first outcome of a copy: its response headers
// (headers), or its end (err: io.EOF for OK); unsent when its stream
// could not be created.
type copyEvent struct {
	c       *hcopy
	headers bool
	err     error
	unsent  bool
}

// start begins copy pr: its context, its attempt timeout and the
// goroutine that opens it and waits for its first outcome.
func (s *hedgedStream) start(pr retry.Progress) *hcopy {
	ctx, cancel := context.WithCancelCause(s.ctx)
	c := &hcopy{pr: pr, ctx: ctx, cancel: cancel, start: time.Now(),
		more: make(chan struct{}, 1), pumped: make(chan struct{})}
	if t := s.pol.timeout; t > 0 {
		if cd, ok := s.ctx.Deadline(); !ok || time.Until(cd) > t {
			c.timer = time.AfterFunc(t, func() { s.expire(c) })
		}
	}
	go s.run(c)
	return c
}

// run opens copy c, starts its sender, and reports its first outcome to
// the driver: its headers, or its end. It ends there: the caller
// receives from the winner itself. A panic (or runtime.Goexit) in the
// inner interceptors or in grpc-go's stream ends the stream: the copy is
// reported as failed, and the caller panics (see recoverCopy).
func (s *hedgedStream) run(c *hcopy) {
	ev := copyEvent{c: c, err: errCopyPanicked, unsent: true}
	returned := false
	defer func() { s.events <- ev }()
	defer s.recoverCopy(c, &returned)
	ev = s.first(c)
	returned = true
}

// first opens copy c and waits for its first outcome.
func (s *hedgedStream) first(c *hcopy) copyEvent {
	cs, err := s.streamer(attemptContext(c.ctx, c.pr.Attempts), s.desc, s.cc, s.method, s.copyOpts(c)...)
	if err != nil {
		return copyEvent{c: c, err: err, unsent: true}
	}
	c.cs = cs
	if !s.register(c) {
		c.cancel(errHedgeLost)
	}
	if md, _ := cs.Header(); md != nil {
		return copyEvent{c: c, headers: true}
	}
	// It ended without headers, so without a message: RecvMsg returns its
	// status, and decodes nothing.
	err = cs.RecvMsg(new(emptypb.Empty))
	c.ended = true
	if se := sendFailure(c.ctx); se != nil {
		err = se
	}
	return copyEvent{c: c, err: err}
}

// register makes the open copy c receive the caller's messages, from its
// own sender: those kept so far (and CloseSend), then every later one. It
// reports false if the stream became final meanwhile: c must then end.
func (s *hedgedStream) register(c *hcopy) bool {
	s.mu.Lock()
	if s.final {
		s.mu.Unlock()
		close(c.pumped)
		return false
	}
	s.live, s.open = append(s.live, c), true
	if s.firstOpen == nil {
		s.firstOpen = c
	}
	s.mu.Unlock()
	s.opened()
	go s.pump(c)
	return true
}

// opened tells the interceptor that a copy is open: it returns the stream.
// A copy's goroutine and the driver may call it at once.
func (s *hedgedStream) opened() {
	s.readyOnce.Do(func() { close(s.ready) })
}

// forget stops sending to c. s.mu is held.
func (s *hedgedStream) forget(c *hcopy) {
	for i, l := range s.live {
		if l == c {
			s.live = append(s.live[:i:i], s.live[i+1:]...)
			return
		}
	}
}

// expire is c's attempt timeout: it cancels c unless a response arrived
// first or the stream is bound to c (see retryingStream.expire).
func (s *hedgedStream) expire(c *hcopy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.live && !c.expired && s.target != c && s.won != c {
		c.expired = true
		c.cancel(errAttemptTimeout)
	}
}

// rearm starts c's attempt timeout again as the caller sends on it.
func (c *hcopy) rearm(s *hedgedStream) {
	if c.timer == nil {
		return
	}
	s.mu.Lock()
	if !c.live && !c.expired {
		c.timer.Reset(s.pol.timeout)
	}
	s.mu.Unlock()
}

// stopTimer ends c's attempt timeout.
func (c *hcopy) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// release ends c's timer and its context.
func (c *hcopy) release(cause error) {
	c.stopTimer()
	c.cancel(cause)
}

// judge judges the failure err of copy c, whose trailer (nil if it cannot
// be read, see trailerOf) is given: raw as the caller may see it, judged
// as the policy must.
func (s *hedgedStream) judge(c *hcopy, err error, unsent bool, trailer metadata.MD) (raw, judged error) {
	own, err := timeoutStatus(c.ctx, err)
	s.mu.Lock()
	noReplay := ""
	if s.final {
		noReplay = s.unkept
	}
	s.mu.Unlock()
	return err, s.set.judge(s.ctx, failure{
		err:        err,
		trailer:    trailer,
		method:     s.method,
		idempotent: true,
		ownTimeout: own,
		unsent:     unsent,
		noReplay:   noReplay,
	}, s.pol.judge)
}

// ended reports whether err ends a stream well.
func ended(err error) bool { return err == io.EOF }
