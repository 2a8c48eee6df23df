//go:build unix

package main

import (
	"errors"
	"syscall"
)

// groupsSupported says whether an attempt can run in a process group of
// its own.
const groupsSupported = true

// sysProcAttr returns the attributes of an attempt's process: a process
// group of its own (its ID is the command's PID) when group is set, and the
// parent-death signal where the system has one.
func sysProcAttr(group bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: group}
	setParentDeathSignal(a)
	return a
}

// signalGroup sends sig to every process of the group pgid, then SIGCONT
// (unless sig is SIGKILL or SIGCONT) so that a stopped process handles it.
// A group that is already gone is not an error.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
	}
}

// groupAlive reports whether the process group pgid still has a process
// in it that runs. A process that changed its user (sudo) cannot be
// signalled but counts. A zombie (a process that ended, which its parent
// has not waited for yet) does not count where the system says which
// processes are zombies (Linux): an attempt's process whose parent exited
// goes to init, which may take a second or more to reap it.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return (err == nil || errors.Is(err, syscall.EPERM)) && groupRuns(pgid)
}

// reapOrphans reaps the processes that ended after their parent: as PID 1
// (a container's entrypoint without an init), retry inherits the processes
// an attempt leaves behind, and one that has ended stays a zombie, still
// counted in its process group, until retry waits for it. Elsewhere such
// processes go to init and this does nothing. It must be called only while
// no attempt is running: it waits for any child.
func reapOrphans() {
	if syscall.Getpid() != 1 {
		return
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
