//go:build unix && !(linux || freebsd)

package main

import "syscall"

// setParentDeathSignal does nothing: this system has no parent-death
// signal, and a command outlives retry killed with SIGKILL.
func setParentDeathSignal(*syscall.SysProcAttr) {}
