//go:build linux || freebsd

package main

import "syscall"

// setParentDeathSignal asks the system to send the command SIGKILL when
// retry dies, even by SIGKILL, which retry cannot catch; processes the
// command started do not get it, and live on in its process group. The
// signal is tied to the thread that started the command: the Go runtime
// does not end its threads while the program runs, as none is locked to a
// goroutine here.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
