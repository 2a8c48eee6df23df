package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// exitError is a failed attempt: the command ran and exited non-zero, or a
// signal killed it. Its message is what -v and the give-up line say of it.
type exitError struct {
	status      int           // the exit status, 128+N for signal N
	signal      os.Signal     // the signal that killed it, or nil
	timedOut    time.Duration // -attempt-timeout, when it ended the attempt
	killedAfter time.Duration // -kill-after, when SIGKILL had to end the attempt
}

// Error says how the attempt ended, with the status retry would exit with:
// "exit status 1", "killed by SIGTERM, status 143", "timed out after 1s
// (-attempt-timeout), then exit status 7", "timed out after 1s
// (-attempt-timeout), then killed by SIGKILL after -kill-after 10s, status
// 137".
func (e *exitError) Error() string {
	var b strings.Builder
	if e.timedOut > 0 {
		fmt.Fprintf(&b, "timed out after %s (-attempt-timeout), then ", formatDuration(e.timedOut))
	}
	switch {
	case e.signal == nil:
		fmt.Fprintf(&b, "exit status %d", e.status)
	case e.killedAfter > 0 && e.signal == os.Kill:
		fmt.Fprintf(&b, "killed by SIGKILL after -kill-after %s, status %d", formatDuration(e.killedAfter), e.status)
	default:
		fmt.Fprintf(&b, "killed by %s, status %d", signalName(e.signal), e.status)
	}
	if e.killedAfter > 0 && e.signal != os.Kill {
		fmt.Fprintf(&b, "; the rest of its process group killed by SIGKILL after -kill-after %s", formatDuration(e.killedAfter))
	}
	return b.String()
}

// statusOf returns a finished process's exit status the way shells report
// it, 128+N for a process killed by signal N, and that signal.
func statusOf(ps *os.ProcessState) (int, os.Signal) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), ws.Signal()
	}
	return ps.ExitCode(), nil
}

// outcome is how a run ended: retry's exit status, and what the give-up
// line and -v's last line say.
type outcome struct {
	failed   bool // the run did not succeed
	status   int
	attempts int       // attempts that ran
	last     string    // how the last attempt ended (exitError's message), or ""
	lastName string    // -v's name for last: "error", or "status" for an HTTP response
	reason   string    // why the retrying stopped, in the flags' terms, unless a signal stopped it
	signal   os.Signal // the signal that stopped the retrying, or nil
	during   bool      // it arrived during an attempt, which got it
}

// lastKey is -v's name for how the last attempt ended.
func (o *outcome) lastKey() string {
	if o.lastName != "" {
		return o.lastName
	}
	return "error"
}

// line is the give-up line: one line on standard error, without -v and -q,
// when a run did not succeed. It names the attempts made, how the last
// ended and why retry stopped, so that a status the command returned (which
// may be 2, 125, 126 or 127) is told from one of retry's own:
//
//	retry: giving up after 4 attempts (-attempts 4 reached): exit status 1
//	retry: interrupted by SIGTERM during attempt 2: killed by SIGTERM, status 143
//	retry: interrupted by SIGINT after attempt 1 (exit status 1): exiting with status 130
func (o *outcome) line() string {
	switch {
	case o.signal != nil && o.during:
		return fmt.Sprintf("retry: interrupted by %s during attempt %d: %s", signalName(o.signal), o.attempts, o.last)
	case o.signal != nil && o.attempts > 0:
		return fmt.Sprintf("retry: interrupted by %s after attempt %d (%s): exiting with status %d", signalName(o.signal), o.attempts, o.last, o.status)
	case o.signal != nil:
		return fmt.Sprintf("retry: interrupted by %s before the first attempt: exiting with status %d", signalName(o.signal), o.status)
	case o.last == "":
		return fmt.Sprintf("retry: giving up after %s: %s", plural(o.attempts, "attempt"), o.reason)
	}
	return fmt.Sprintf("retry: giving up after %s (%s): %s", plural(o.attempts, "attempt"), o.reason, o.last)
}

// plural writes n and the word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
