//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// binary is the retry command built for this test run by TestMain.
var binary string

func TestMain(m *testing.M) {
	// The commands these tests start must not inherit an ignored SIGHUP or
	// SIGINT (tests run under nohup, or as a background job of a
	// non-interactive shell): retry keeps such a signal ignored, as its
	// help says, and the signal tests would wait for nothing. A handler
	// installed here makes every child start with the default action.
	for _, sig := range []os.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if signal.Ignored(sig) {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
	dir, err := os.MkdirTemp("", "retry-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := buildAndRun(m, dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildAndRun builds the command into dir (with the race detector when the
// tests have it) and runs the tests.
func buildAndRun(m *testing.M, dir string) int {
	binary = filepath.Join(dir, "retry")
	// -buildvcs=auto: stamped with the VCS revision in a clone, as a user's
	// build is, whatever GOFLAGS says (TestVersion reads it).
	args := []string{"build", "-buildvcs=auto", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the retry command:", err)
		return 1
	}
	return m.Run()
}

// result is what a run of the binary produced.
type result struct {
	status         int
	stdout, stderr string
}

// runBinary runs the built command with args in dir, feeding it stdin
// (nil: /dev/null), and waits for it. The test's deadline bounds it.
func runBinary(t *testing.T, dir string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := command(t, dir, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
	}
	return result{status: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// command prepares a run of the built binary in its own process group, so
// that a terminal running the tests does not count as its terminal for
// SIGINT (see terminalSignalsChild).
func command(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		t.Cleanup(cancel)
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0") // no 1s pause at exit under -race
	return cmd
}

// readFile returns the contents of dir/name, or "" if it does not exist.
func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if os.IsNotExist(err) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}
