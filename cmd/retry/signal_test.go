//go:build unix

package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// before they counted themselves).
const startTimeout = "2s"

func TestAttemptTimeout(t *testing.T) {
	t.Run("SIGTERM ends the attempt, which is retried", func(t *testing.T) {
		dir := t.TempDir()
		// The trap kills the background sleep so that nothing holds the pipes.
		script := count + `trap 'echo term >> marker; exit 7' TERM; sleep 60 & wait`
		r := runBinary(t, dir, nil, args(fast, "-v", "-attempts", "2", "-attempt-timeout", startTimeout, "sh", "-c", script)...)
		assert.Equal(t, 7, r.status, r.stderr)
		assert.Equal(t, "2\n", readFile(t, dir, "count"))
		assert.Equal(t, "term\nterm\n", readFile(t, dir, "marker"))
		assert.Contains(t, r.stderr, `error="timed out after `+startTimeout+` (-attempt-timeout), then exit status 7"`)
	})
	t.Run("SIGKILL after -kill-after", func(t *testing.T) {
		dir := t.TempDir()
		script := count + `trap '' TERM; exec sleep 60`
		r := runBinary(t, dir, nil, args(fast, "-attempts", "2", "-attempt-timeout", startTimeout, "-kill-after", "10ms", "sh", "-c", script)...)
		assert.Equal(t, 128+9, r.status, r.stderr)
		assert.Equal(t, "2\n", readFile(t, dir, "count"))
	})
	t.Run("a timed-out attempt is retried even with -retry-on", func(t *testing.T) {
		dir := t.TempDir()
		script := count + `[ $n -ge 2 ] && exit 0; exec sleep 60`
		r := runBinary(t, dir, nil, args(fast, "-retry-on", "1", "-attempt-timeout", startTimeout, "sh", "-c", script)...)
		assert.Equal(t, 0, r.status, r.stderr)
		assert.Equal(t, "2\n", readFile(t, dir, "count"))
	})
}

// startWatched starts the binary with its stdout and stderr as pipes and
// returns the command and readers for them.
func startWatched(t *testing.T, dir string, args ...string) (*exec.Cmd, *bufio.Reader, *bufio.Reader) {
	t.Helper()
	cmd := command(t, dir, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	return cmd, bufio.NewReader(stdout), bufio.NewReader(stderr)
}

// readUntil reads lines from r until one contains want; the test's deadline
// bounds it (the binary is killed, which ends the pipe).
func readUntil(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if strings.Contains(line, want) {
			return
		}
		require.NoError(t, err, "waiting for %q, got %q", want, seen.String())
	}
}

func TestSignalForwardedToTheCommand(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			// The command traps the signal, records it, and exits 42; the
			// trap kills the background sleep so that nothing holds the pipes.
			script := count + `trap 'kill $p; echo got >> marker; exit 42' INT TERM; sleep 60 & p=$!; echo ready; wait $p`
			cmd, stdout, stderr := startWatched(t, dir, args(fast, "-attempts", "5", "sh", "-c", script)...)
			readUntil(t, stdout, "ready")
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(stderr)
			err := cmd.Wait()
			require.Error(t, err)
			assert.Equal(t, 42, cmd.ProcessState.ExitCode(), "exits like the command; stderr: %s", rest)
			assert.Equal(t, "got\n", readFile(t, dir, "marker"), "the command got the signal once")
			assert.Equal(t, "1\n", readFile(t, dir, "count"), "no retry after the signal")
		})
	}
}

func TestSignalSuccessfulCommand(t *testing.T) {
	dir := t.TempDir()
	script := count + `trap 'kill $p; exit 0' INT; sleep 60 & p=$!; echo ready; wait $p`
	cmd, stdout, _ := startWatched(t, dir, args(fast, "sh", "-c", script)...)
	readUntil(t, stdout, "ready")
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), "a command that handles the signal and exits 0 succeeded")
}

// TestSignalCutsTheWaitShort: a stop signal between attempts ends the wait
// at once, and retry exits 128+N, as a shell reports a signal, with a line
// that says it is retry's own status.
func TestSignalCutsTheWaitShort(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd, _, stderr := startWatched(t, dir, "-v", "-backoff", "constant", "-delay", "1h", "-max-delay", "0", "-jitter", "none", "sh", "-c", count+"exit 1")
			readUntil(t, stderr, "wait=1h0m0s") // logged before the wait starts
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(stderr)
			require.Error(t, cmd.Wait())
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), "as a shell reports the signal")
			assert.Equal(t, "1\n", readFile(t, dir, "count"))
			assert.Contains(t, string(rest), `msg="giving up" attempt=1 max_attempts=4 reason="interrupted by `+signalName(sig)+`" error="exit status 1" elapsed=`)
		})
	}
}
