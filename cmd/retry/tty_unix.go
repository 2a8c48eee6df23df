//go:build linux || darwin

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// terminalSignalsChild reports whether retry's process group is the
// foreground group of its controlling terminal. The child runs in that
// group too, so a Ctrl-C typed there reaches the child directly, and
// forwarding it would deliver it twice (many programs take a second
// SIGINT as "stop cleaning up and die now").
func terminalSignalsChild() bool {
	f, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal
	}
	defer f.Close()
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgrp)))
	return errno == 0 && int(pgrp) == syscall.Getpgrp()
}
