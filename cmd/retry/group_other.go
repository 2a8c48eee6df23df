//go:build !unix

package main

import "syscall"

// groupsSupported says whether an attempt can run in a process group of
// its own: not on this system, where an attempt's timeout and a signal to
// retry reach the command alone.
const groupsSupported = false

func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) {}

func groupAlive(int) bool { return false }

func reapOrphans() {}
