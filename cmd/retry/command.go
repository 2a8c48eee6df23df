package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/retrykit/retry"
)

// runCommand runs c.command under policy p and returns retry's exit status.
func runCommand(ctx context.Context, c *config, p *retry.Policy, stdin io.Reader, stdout, stderr io.Writer) int {
	in := newInput(stdin, c.stdin, stdinMemoryLimit, c.stdinLimit)
	defer in.Close()
	ctx, rl, stop := listenSignals(ctx)
	defer stop()

	r := &runner{ctx: ctx, argv: c.command, stdin: in, stdout: stdout, stderr: stderr, relay: rl,
		killAfter: c.killAfter, attemptTimeout: c.attemptTimeout}
	opts := []retry.Option{p, retry.WithClassifier(exitClassifiers(c)...)}
	var log *logger
	if c.verbose {
		log = newLogger(stderr, c.attempts, terminalReason(c))
		opts = append(opts, retry.WithNotify(log.retrying))
	}
	began := time.Now()
	err := retry.Run(ctx, r.attempt, opts...)
	if r.startErr != nil {
		fmt.Fprintf(stderr, "retry: cannot run %q: %v\n", c.command[0], startReason(r.startErr.err))
		return r.startErr.status
	}
	if r.inputErr != nil {
		fmt.Fprintf(stderr, "retry: cannot replay standard input to attempt %d: %v\n", r.attempts+1, inputReason(r.inputErr, c.stdinLimit))
		return exitFailure
	}
	log.outcome(err, r.attempts, time.Since(began))
	return r.exitStatus(err)
}

// runner runs one attempt of the command at a time.
type runner struct {
	ctx            context.Context // the whole run's, which signals cancel
	argv           []string
	stdin          *input
	stdout, stderr io.Writer
	relay          *relay
	killAfter      time.Duration
	attemptTimeout time.Duration

	attempts   int         // attempts started
	lastStatus int         // the last attempt's exit status
	startErr   *startError // set when the command could not be started
	inputErr   error       // set when standard input could not be given to an attempt
}

// exitError is a failed attempt: the command ran and exited non-zero.
type exitError struct {
	status   int    // the exit status, 128+signal for a signal
	state    string // "exit status 1", "signal: killed"
	timedOut time.Duration
}

func (e *exitError) Error() string {
	if e.timedOut > 0 {
		return fmt.Sprintf("attempt timed out after %v, ended with %s", e.timedOut, e.state)
	}
	return e.state
}

// startError is a command that could not be started. It is not retried:
// running it again would fail the same way.
type startError struct {
	status int // exitNotFound or exitCannotExecute
	err    error
}

func (e *startError) Error() string { return e.err.Error() }

// attempt runs the command once and waits for it. When ctx ends before the
// command does, a signal already went to the command (see relay) and it is
// left to exit on its own terms; otherwise (the attempt timed out) it gets
// SIGTERM, then SIGKILL after killAfter.
func (r *runner) attempt(ctx context.Context) error {
	stdin, err := r.stdin.next(r.ctx)
	if err != nil {
		if r.ctx.Err() == nil { // else a signal stopped the retrying, which exitStatus reports
			r.inputErr = err
		}
		return retry.Permanent(err)
	}
	defer r.stdin.done()
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, r.stdout, r.stderr
	if err := r.relay.start(cmd); err != nil {
		if errors.Is(err, errInterrupted) {
			return retry.Permanent(err)
		}
		r.startErr = &startError{status: startStatus(err), err: err}
		return retry.Permanent(r.startErr)
	}
	r.attempts++
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timedOut time.Duration
	select {
	case <-done:
	case <-ctx.Done():
		if sig, _ := r.relay.signalled(); sig == nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				timedOut = r.attemptTimeout // else the caller of run cancelled
			}
			r.terminate(cmd.Process, done)
		} else {
			<-done
		}
	}
	r.relay.exited()
	state := cmd.ProcessState
	r.lastStatus = statusOf(state)
	if state.Success() {
		return nil
	}
	return &exitError{status: r.lastStatus, state: state.String(), timedOut: timedOut}
}

// terminate asks the child to stop with SIGTERM, and kills it if it is
// still running after killAfter. done receives when it has exited.
func (r *runner) terminate(p *os.Process, done <-chan error) {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		_ = p.Kill() // SIGTERM unsupported (Windows) or the child is gone
	}
	t := time.NewTimer(r.killAfter)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = p.Kill()
		<-done
	}
}

// exitStatus is retry's exit status once the loop ended with err.
func (r *runner) exitStatus(err error) int {
	if err == nil {
		return 0
	}
	sig, hitChild := r.relay.signalled()
	switch {
	case sig != nil && !hitChild:
		return signalStatus(sig) // interrupted between attempts
	case r.attempts > 0:
		return r.lastStatus
	}
	return exitFailure
}

// statusOf returns a finished process's exit status the way shells report
// it: 128+N for a process killed by signal N.
func statusOf(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// startStatus maps an error from starting a command to the shells'
// statuses: 127 when it does not exist, 126 when it cannot be executed.
func startStatus(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return exitNotFound
	}
	return exitCannotExecute
}

// startReason strips the command name and "fork/exec" from a start error,
// which the message already names.
func startReason(err error) error {
	var ee *exec.Error
	var pe *os.PathError
	switch {
	case errors.As(err, &ee):
		return ee.Err
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}

// inputReason explains why standard input could not be replayed, with what
// to do about it.
func inputReason(err error, limit int64) string {
	if errors.Is(err, errStdinLimit) {
		return fmt.Sprintf("it is longer than -stdin-limit %s; raise the limit, or use -stdin first (only the first attempt reads it) or -stdin none", formatSize(limit))
	}
	return err.Error() + " (-stdin every)"
}

// exitClassifiers turns -retry-on and -stop-on into classifiers. A timed-out
// attempt is retried before any classifier is asked.
func exitClassifiers(c *config) []retry.Classifier {
	switch {
	case len(c.retryOn) > 0:
		return []retry.Classifier{func(err error) retry.Class {
			if hasStatus(err, c.retryOn) {
				return retry.Retryable
			}
			return retry.Terminal
		}}
	case len(c.stopOn) > 0:
		return []retry.Classifier{func(err error) retry.Class {
			if hasStatus(err, c.stopOn) {
				return retry.Terminal
			}
			return retry.Unclassified
		}}
	}
	return nil
}

// terminalReason says why a failed attempt was not retried.
func terminalReason(c *config) string {
	switch {
	case len(c.retryOn) > 0:
		return "-retry-on does not list this exit status"
	case len(c.stopOn) > 0:
		return "-stop-on lists this exit status"
	}
	return "not retryable"
}

func hasStatus(err error, statuses []int) bool {
	var e *exitError
	return errors.As(err, &e) && slices.Contains(statuses, e.status)
}
