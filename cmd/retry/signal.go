package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
)

// stopSignals are the signals that stop the retrying: each is passed on to
// the running attempt, as GNU timeout passes them on.
func stopSignals() []os.Signal {
	return []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM}
}

// relay passes the stop signals on to the running attempt (its process
// group) and stops the retrying: it cancels the context given to
// retry.Run, which cuts a wait short. The attempt then ends on its own
// terms, within -kill-after (see runner.attempt).
//
// Its methods are safe for concurrent use: the signal goroutine and the
// retry loop share it.
type relay struct {
	cancel     context.CancelCauseFunc
	foreground bool // -foreground: the command shares retry's process group

	mu       sync.Mutex
	child    *process  // the running attempt, or nil
	sig      os.Signal // the first signal received, or nil
	hitChild bool      // a signal arrived while an attempt was running
}

// signalError is the cancellation cause when a signal stopped the retrying.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// signalName is sig's name as kill -l and shells write it: SIGTERM. A
// signal without a name here is "signal N (description)".
func signalName(sig os.Signal) string {
	names := []struct {
		sig  syscall.Signal
		name string
	}{
		{syscall.SIGHUP, "SIGHUP"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGQUIT, "SIGQUIT"},
		{syscall.SIGILL, "SIGILL"}, {syscall.SIGABRT, "SIGABRT"}, {syscall.SIGBUS, "SIGBUS"},
		{syscall.SIGFPE, "SIGFPE"}, {syscall.SIGKILL, "SIGKILL"}, {syscall.SIGSEGV, "SIGSEGV"},
		{syscall.SIGPIPE, "SIGPIPE"}, {syscall.SIGALRM, "SIGALRM"}, {syscall.SIGTERM, "SIGTERM"},
	}
	for _, n := range names {
		if sig == n.sig {
			return n.name
		}
	}
	if s, ok := sig.(syscall.Signal); ok {
		return fmt.Sprintf("signal %d (%v)", int(s), s)
	}
	return sig.String()
}

// errInterrupted is returned by start when a signal came before the attempt.
var errInterrupted = errors.New("interrupted before the attempt started")

// listenSignals returns a context that the stop signals cancel, and the
// relay that forwards them to the running attempt, until stop is called.
func listenSignals(ctx context.Context, foreground bool) (context.Context, *relay, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	rl := &relay{cancel: cancel, foreground: foreground}
	stopListening := rl.listen()
	return ctx, rl, func() {
		stopListening()
		cancel(nil)
	}
}

// listen installs the signal handlers until stop is called.
func (r *relay) listen() (stop func()) {
	ch := make(chan os.Signal, 4)
	sigs := stopSignals()
	if !r.foreground { // else the terminal's Ctrl-Z reaches the command itself
		sigs = append(sigs, jobControlSignals()...)
	}
	for _, s := range sigs {
		// A SIGHUP or SIGINT ignored when retry started (nohup's SIGHUP;
		// SIGINT for a background job of a shell without job control)
		// stays ignored, and the command inherits that. Go's runtime
		// keeps no other inherited ignore: SIGTERM and SIGQUIT report
		// false here and are caught.
		if !signal.Ignored(s) {
			signal.Notify(ch, s)
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case s := <-ch:
				if slices.Contains(jobControlSignals(), s) {
					r.jobControl(s)
				} else {
					r.receive(s)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}

// receive handles one signal: it is forwarded to the running attempt, and
// the retrying stops. Every signal is forwarded, the second Ctrl-C as the
// first. With -foreground, a Ctrl-C or Ctrl-\ typed at the terminal
// already reached the command, which shares retry's process group, and is
// not sent a second time (many programs take a second SIGINT as "stop
// cleaning up and die now").
func (r *relay) receive(s os.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sig == nil {
		r.sig = s
	}
	if r.child != nil {
		r.hitChild = true
		fromTerminal := s == syscall.SIGINT || s == syscall.SIGQUIT
		if !(r.foreground && fromTerminal && terminalSignalsChild()) {
			r.child.signal(s)
		}
	}
	r.cancel(&signalError{s})
}

// start starts cmd unless a signal already stopped the retrying, and makes
// it the attempt that signals go to. Holding the lock across the start
// means a signal is either seen here or forwarded to the started attempt.
func (r *relay) start(cmd *exec.Cmd) (*process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sig != nil {
		return nil, errInterrupted
	}
	p, err := startProcess(cmd, r.foreground)
	if err != nil {
		return nil, err
	}
	r.child = p
	return p, nil
}

// ended records that the attempt is over: nothing more is forwarded to it.
func (r *relay) ended() {
	r.mu.Lock()
	r.child = nil
	r.mu.Unlock()
}

// signalled returns the first signal received, and whether it arrived
// while an attempt was running.
func (r *relay) signalled() (sig os.Signal, hitChild bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sig, r.hitChild
}

// signalStatus is the shell's exit status for a process killed by sig.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailure
}
