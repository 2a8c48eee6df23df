package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/retrykit/retry"
)

// runCommand runs c.command under policy p and returns retry's exit status.
func runCommand(ctx context.Context, c *config, p *retry.Policy, stdin io.Reader, stdout, stderr io.Writer) int {
	in := newInput(stdin, c.stdinMode(), stdinMemoryLimit, c.stdinLimit)
	defer in.Close()
	ctx, rl, stop := listenSignals(ctx, c.foreground)
	defer stop()

	r := &runner{ctx: ctx, argv: c.command, stdin: in, stdout: stdout, stderr: stderr, relay: rl,
		killAfter: c.killAfter, attemptTimeout: c.attemptTimeout}
	opts := []retry.Option{p, retry.WithClassifier(exitClassifiers(c)...)}
	var log *logger
	if c.verbose {
		log = newLogger(stderr, c.attempts)
		opts = append(opts, retry.WithNotify(log.retryScheduled))
	}
	began := time.Now()
	err := retry.Run(ctx, r.attempt, opts...)
	if r.startErr != nil {
		fmt.Fprintf(stderr, "retry: cannot run %q: %v\n", c.command[0], startReason(r.startErr.err))
		return r.startErr.status
	}
	if r.inputErr != nil && r.attempts == 0 {
		fmt.Fprintf(stderr, "retry: cannot give standard input to the command: %v\n", r.inputErr)
		return exitFailure
	}
	o := r.outcome(c, err)
	switch {
	case log != nil:
		log.outcome(o, time.Since(began))
	case err != nil && !c.quiet:
		fmt.Fprintln(stderr, o.line())
	}
	return o.status
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

	attempts int         // attempts started
	last     *exitError  // how the last attempt failed, or nil
	startErr *startError // set when the command could not be started
	inputErr error       // set when standard input could not be given to an attempt
}

// attempt runs the command once and waits for it. When it runs past the
// attempt's timeout (or the caller of run cancels), it gets SIGTERM and
// SIGKILL after killAfter; when a signal stopped the retrying, the relay
// already passed it on, and the attempt gets killAfter to end before
// SIGKILL. Either way the signals go to the attempt's process group, and
// attempt returns once the group is gone (see process.settle).
func (r *runner) attempt(ctx context.Context) error {
	stdin, err := r.stdin.next(r.ctx)
	if err != nil {
		if r.ctx.Err() == nil { // else a signal stopped the retrying, which the outcome reports
			r.inputErr = err
		}
		return retry.Permanent(err)
	}
	defer r.stdin.done()
	reapOrphans() // as PID 1: what earlier attempts left behind and has ended since
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, r.stdout, r.stderr
	p, err := r.relay.start(cmd)
	if err != nil {
		if errors.Is(err, errInterrupted) {
			return retry.Permanent(err)
		}
		r.startErr = &startError{status: startStatus(err), err: err}
		return retry.Permanent(r.startErr)
	}
	r.attempts++
	e := &exitError{}
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	if sig, _ := r.relay.signalled(); sig != nil {
		// The relay passed the signal on; the attempt ends on its own
		// terms, within killAfter.
		e.killedAfter = r.killed(p.settle(r.killAfter))
	} else if ctx.Err() != nil && !p.exited() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.timedOut = r.attemptTimeout // else the caller of run cancelled
		}
		e.killedAfter = r.killed(p.terminate(r.killAfter))
	}
	r.relay.ended()
	state := cmd.ProcessState
	e.status, e.signal = statusOf(state)
	r.last = e
	if state.Success() {
		return nil
	}
	return e
}

// killed returns killAfter when SIGKILL had to end the attempt, else 0.
func (r *runner) killed(sigkill bool) time.Duration {
	if sigkill {
		return r.killAfter
	}
	return 0
}

// outcome sums up the run once the loop ended with err: retry's exit
// status and, on failure, what the give-up line and -v say.
func (r *runner) outcome(c *config, err error) *outcome {
	o := &outcome{failed: err != nil, attempts: r.attempts}
	if r.last != nil {
		o.last, o.status = r.last.Error(), r.last.status
	}
	if err == nil {
		o.status = 0
		return o
	}
	sig, during := r.relay.signalled()
	var e *retry.Error
	switch {
	case sig != nil:
		o.signal, o.during = sig, during
		if !during {
			o.status = signalStatus(sig)
		}
	case r.inputErr != nil:
		o.reason = "standard input cannot be replayed: " + inputReason(r.inputErr, c.stdinLimit)
	case errors.As(err, &e) && r.last != nil:
		o.reason = c.stopReason(e, c.exitTerminalReason(r.last.status))
	case errors.As(err, &e):
		o.reason = c.stopReason(e, "")
	default:
		o.reason = err.Error()
	}
	return o
}

// inputReason explains why standard input could not be replayed, with what
// to do about it.
func inputReason(err error, limit int64) string {
	if errors.Is(err, errStdinLimit) {
		return fmt.Sprintf("it is longer than -stdin-limit %s; raise it, or use -stdin first or -stdin none", formatSize(limit))
	}
	return err.Error()
}

// startError is a command that could not be started. It is not retried:
// running it again would fail the same way.
type startError struct {
	status int // exitNotFound or exitCannotExecute
	err    error
}

func (e *startError) Error() string { return e.err.Error() }

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
