package grpcx

import (
	"errors"
	"runtime"
)

// The panics of a hedged stream. Its copies and its driver run on
// goroutines of their own, where a panic (of an inner interceptor, of
// grpc-go's stream or codec, of an observer's hook) would end the
// program. They recover it instead: the copy is reported as failed under
// its cancelled context (it counts as nothing: a breaker's probe slot is
// freed, the budget's tokens stay as they were), the other copies are
// cancelled and reported so, and the stream ends; the caller's goroutine
// then panics with the same value (or exits, for runtime.Goexit) once
// every copy was reported: in the interceptor if the stream was not yet
// returned, otherwise in RecvMsg, Header or SendMsg, as retry.DoHedged
// does for its copies.

// errCopyPanicked is the cause with which a copy is cancelled when it, or
// another copy, or the driver panicked.
var errCopyPanicked = errors.New("grpcx: hedged stream copy cancelled: a copy or a hook panicked")

// recoverCopy runs deferred on a copy's goroutine (run or pump): unless
// the goroutine returned, it recovers the panic (or sees runtime.Goexit)
// and records it; the copy is cancelled, and the driver ends the stream.
func (s *hedgedStream) recoverCopy(c *hcopy, returned *bool) {
	if *returned {
		return
	}
	r := recover()
	s.recordPanic(r, r == nil)
	c.cancel(errCopyPanicked)
}

// recordPanic records the stream's first panic (value r; exited for
// runtime.Goexit), and wakes the driver.
func (s *hedgedStream) recordPanic(r any, exited bool) {
	s.mu.Lock()
	if !s.panicked {
		s.panicked, s.panicVal, s.exited = true, r, exited
	}
	s.mu.Unlock()
	s.wakeDriver()
}

// isPanicked reports whether a copy or the driver panicked.
func (s *hedgedStream) isPanicked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.panicked
}

// repanic panics on the caller's goroutine with the value of the stream's
// panic (or exits), once the driver has reported every copy.
func (s *hedgedStream) repanic() {
	<-s.driven
	s.mu.Lock()
	r, exited := s.panicVal, s.exited
	s.mu.Unlock()
	if exited {
		runtime.Goexit()
	}
	panic(r)
}

// loopOutcome is how the driver's loop ended.
type loopOutcome int

const (
	loopDone     loopOutcome = iota // every copy reported: the driver is done
	loopPanicked                    // a panic was recovered: the loop goes on
)

// guard runs deferred in the driver's loop: unless the loop returned, it
// recovers a panic (an observer's hook, a budget's or breaker's callback),
// records it and ends the stream; the loop then goes on reporting the
// copies. On runtime.Goexit the goroutine cannot go on: a new one takes
// over the driving.
func (d *driver) guard(returned *bool, out *loopOutcome) {
	if *returned {
		return
	}
	r := recover()
	d.s.recordPanic(r, r == nil)
	d.panicked()
	*out = loopPanicked
	if r == nil {
		go d.s.driveOn(d)
	}
}

// panicked ends the stream after a panic: the copies running (and a
// winner) are cancelled, and reported as they end, as nothing.
func (d *driver) panicked() {
	s := d.s
	if c := d.handling; c != nil {
		// A panic while handling its outcome (a classifier, a hook) may
		// have left it unreported; the engine refuses a second report,
		// changing nothing, if it was.
		d.handling = nil
		reportLoser(s, c, errCopyPanicked)
	}
	d.stopTimers()
	d.end(&panicEnd{})
	s.mu.Lock()
	w := s.won
	s.mu.Unlock()
	if w != nil {
		w.release(errCopyPanicked)
	}
	for _, r := range d.running {
		r.cancel(errCopyPanicked)
	}
}

// panicEnd is the end of a stream that panicked; the caller never sees it
// (its goroutine panics), but the grpc.OnFinish callback does.
type panicEnd struct{}

func (*panicEnd) Error() string { return errCopyPanicked.Error() }
