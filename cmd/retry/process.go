package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one running attempt: the command retry started and, unless
// -foreground, the process group it leads, which holds every process the
// command starts (except one that leaves it: setsid, a daemon). Ending the
// attempt, for a timeout or a signal to retry, ends the whole group.
//
// Its methods are safe for concurrent use: the signal relay and the retry
// loop share it.
type process struct {
	cmd   *exec.Cmd
	group bool          // the command leads a process group of its own
	done  chan struct{} // closed once the command has exited and Wait returned
}

// startProcess starts cmd, in a process group of its own unless
// foreground, and with the parent-death signal where the system has one.
// The goroutine that waits for the command ends with it; every path of
// runner.attempt waits for done before it returns.
func startProcess(cmd *exec.Cmd, foreground bool) (*process, error) {
	cmd.SysProcAttr = sysProcAttr(!foreground)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, group: !foreground && groupsSupported, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the status is in cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the attempt: to its whole process group, then
// SIGCONT so that a stopped process (one that read the terminal from the
// background) handles it, as GNU timeout does; with -foreground, to the
// command alone. A process that is already gone is not an error.
func (p *process) signal(sig os.Signal) {
	s, ok := sig.(syscall.Signal)
	if p.group && ok {
		signalGroup(p.cmd.Process.Pid, s)
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil && sig != os.Kill {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill() // the signal is not supported here (Windows)
		}
	}
}

// settle waits for the attempt to end after a signal: for the command to
// exit and, with a process group, for the rest of the group to be gone. It
// sends SIGKILL to whatever is left once grace has passed, and reports
// whether it had to. It returns once the command has been waited for.
func (p *process) settle(grace time.Duration) (killed bool) {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	select {
	case <-p.done:
	case <-deadline.C:
		p.signal(os.Kill)
		<-p.done
		return true
	}
	poll := time.NewTimer(time.Millisecond)
	defer poll.Stop()
	for delay := time.Millisecond; p.group && p.groupAlive(); delay = min(2*delay, 100*time.Millisecond) {
		poll.Reset(delay)
		select {
		case <-poll.C:
		case <-deadline.C:
			signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
			return true
		}
	}
	return false
}

// groupAlive reports whether a process of the attempt's group is still
// there, once the command itself has exited and been waited for.
func (p *process) groupAlive() bool {
	reapOrphans()
	return groupAlive(p.cmd.Process.Pid)
}

// exited reports whether the command has exited (and been waited for).
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// terminate ends the attempt as a timeout does: SIGTERM, then SIGKILL once
// grace has passed. It reports whether SIGKILL was needed.
func (p *process) terminate(grace time.Duration) (killed bool) {
	p.signal(syscall.SIGTERM)
	return p.settle(grace)
}
