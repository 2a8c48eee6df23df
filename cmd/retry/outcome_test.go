package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutcomeLines: every form of the give-up line and of an attempt's
// ending, in a golden file (testdata/outcome.golden). The binary's tests
// check that each arises where it should.
func TestOutcomeLines(t *testing.T) {
	endings := []*exitError{
		{status: 1},
		{status: 143, signal: syscall.SIGTERM},
		{status: 139, signal: syscall.SIGSEGV},
		{status: 7, timedOut: time.Second},
		{status: 143, signal: syscall.SIGTERM, timedOut: 1500 * time.Millisecond},
		{status: 137, signal: syscall.SIGKILL, timedOut: time.Second, killedAfter: 10 * time.Second},
		{status: 130, signal: syscall.SIGINT, killedAfter: 100 * time.Millisecond},
		{status: 128 + 10, signal: syscall.Signal(10)},
	}
	outcomes := []*outcome{
		{failed: true, status: 1, attempts: 4, last: "exit status 1", reason: "-attempts 4 reached"},
		{failed: true, status: 5, attempts: 1, last: "exit status 5", reason: "-stop-on lists status 5"},
		{failed: true, status: 42, attempts: 2, last: "exit status 42", signal: syscall.SIGTERM, during: true},
		{failed: true, status: 130, attempts: 1, last: "exit status 1", signal: syscall.SIGINT},
		{failed: true, status: 129, signal: syscall.SIGHUP},
		{failed: true, status: exitHTTP5xx, attempts: 1, last: "503 Service Unavailable", lastName: "status", reason: "Retry-After 2m0s exceeds -max-delay 30s"},
		{failed: true, status: exitNoResponse, attempts: 3, reason: "something without a last attempt"},
	}
	var b strings.Builder
	for _, e := range endings {
		fmt.Fprintln(&b, e.Error())
	}
	b.WriteString("\n")
	for _, o := range outcomes {
		fmt.Fprintln(&b, o.line())
	}
	assertGolden(t, "outcome", b.String())
}
