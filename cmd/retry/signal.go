package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

// relay passes SIGINT and SIGTERM on to the running child and stops the
// retrying: it cancels the context given to retry.Do, which cuts a wait
// short. It never kills the child itself: the child decides how to end,
// and retry exits with its status.
//
// Its methods are safe for concurrent use: the signal goroutine and the
// retry loop share it.
type relay struct {
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	child    *os.Process // the running attempt, or nil
	sig      os.Signal   // the first signal received, or nil
	hitChild bool        // a signal arrived while a child was running
}

// signalError is the cancellation cause when a signal stopped the retrying.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return fmt.Sprintf("interrupted by signal %v", e.sig) }

// errInterrupted is returned by start when a signal came before the attempt.
var errInterrupted = errors.New("interrupted before the attempt started")

// listenSignals returns a context that SIGINT and SIGTERM cancel, and the
// relay that forwards them to the running child, until stop is called.
func listenSignals(ctx context.Context) (context.Context, *relay, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	rl := &relay{cancel: cancel}
	stopListening := rl.listen()
	return ctx, rl, func() {
		stopListening()
		cancel(nil)
	}
}

// listen installs the signal handlers until stop is called.
func (r *relay) listen() (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case s := <-ch:
				r.receive(s)
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

// receive handles one signal: it is forwarded to the running child, and the
// retrying stops.
func (r *relay) receive(s os.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sig == nil {
		r.sig = s
	}
	if r.child != nil {
		r.hitChild = true
		if !(s == os.Interrupt && terminalSignalsChild()) {
			_ = r.child.Signal(s) // it may have exited just now
		}
	}
	r.cancel(&signalError{s})
}

// start starts cmd unless a signal already stopped the retrying, and makes
// it the child that signals go to. Holding the lock across Start means a
// signal is either seen here or forwarded to the started child.
func (r *relay) start(cmd *exec.Cmd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sig != nil {
		return errInterrupted
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.child = cmd.Process
	return nil
}

// exited records that the child is gone.
func (r *relay) exited() {
	r.mu.Lock()
	r.child = nil
	r.mu.Unlock()
}

// signalled returns the first signal received, and whether it arrived
// while a child was running.
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
