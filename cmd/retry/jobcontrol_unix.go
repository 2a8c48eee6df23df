//go:build unix

package main

import (
	"os"
	"syscall"
)

// jobControlSignals are the signals of a shell's job control that retry
// passes on to the running attempt: Ctrl-Z (SIGTSTP) and the SIGCONT of
// fg and bg.
func jobControlSignals() []os.Signal { return []os.Signal{syscall.SIGTSTP, syscall.SIGCONT} }

// jobControl passes a suspension on to the running attempt, which runs in
// a process group of its own that the terminal's Ctrl-Z does not reach, so
// that retry and its attempt stop and resume together, as a job of the
// shell does. On SIGTSTP the attempt's group gets SIGTSTP and retry stops
// itself (SIGSTOP, the default action of the SIGTSTP it caught); on SIGCONT
// (fg, bg, kill -CONT) the group gets SIGCONT. Without -foreground only:
// with it, the terminal signals the command directly.
func (r *relay) jobControl(s os.Signal) {
	r.mu.Lock()
	child := r.child
	r.mu.Unlock()
	if child != nil && child.group {
		_ = syscall.Kill(-child.cmd.Process.Pid, s.(syscall.Signal))
	}
	if s == syscall.SIGTSTP {
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
	}
}
