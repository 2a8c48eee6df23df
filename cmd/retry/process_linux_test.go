package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run real process trees (sh, and sleep under a name unique to
// the test) and count what survives by that name in /proc: they assert on
// process counts and exit statuses, never on elapsed time. They kill only
// processes bearing their own marker.

// markedSleep returns the path of sleep under a name unique to the test,
// which every process running it shows in its command line, and that
// marker. Whatever still runs it when the test ends is killed.
func markedSleep(t *testing.T) (path, marker string) {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	sleep, err = filepath.EvalSymlinks(sleep)
	require.NoError(t, err)
	marker = fmt.Sprintf("retry-test-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	path = filepath.Join(t.TempDir(), marker)
	require.NoError(t, os.Symlink(sleep, path))
	t.Cleanup(func() {
		for _, pid := range survivors(t, marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return path, marker
}

// survivors returns the processes that run (zombies aside, whose command
// line is empty) with marker in their command line, retry itself aside
// (its arguments name the marked command).
func survivors(t *testing.T, marker string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(marker)) && !bytes.HasPrefix(cmdline, []byte(binary+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// awaitSurvivors polls until exactly want processes bear marker, for
// processes starting, or dying after retry itself is gone (the kernel's
// parent-death signal is delivered asynchronously), and returns the last
// count. hangBound bounds it.
func awaitSurvivors(t *testing.T, marker string, want int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangBound)
	defer cancel()
	for {
		n := len(survivors(t, marker))
		if n == want || ctx.Err() != nil {
			return n
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// hangBound bounds a run that would hang without the fix (a child that
// ignores SIGTERM, an orphan holding a pipe), so that the test fails with
// the status of a killed run instead of waiting for the test's deadline.
const hangBound = 30 * time.Second

func boundedCommand(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := command(t, dir, args...)
	ctx, cancel := context.WithTimeout(t.Context(), hangBound)
	t.Cleanup(cancel)
	bounded := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	bounded.Dir, bounded.SysProcAttr, bounded.Env = cmd.Dir, cmd.SysProcAttr, cmd.Env
	return bounded
}

// TestAttemptTimeoutEndsTheGroup: a timed-out attempt's whole process
// group ends, children included, before the next attempt starts; nothing
// is left when retry exits. (Before, only sh got SIGTERM: two sleeps per
// attempt outlived it and ran beside the next attempt.)
func TestAttemptTimeoutEndsTheGroup(t *testing.T) {
	sleep, marker := markedSleep(t)
	dir := t.TempDir()
	script := count + sleep + ` 60 & ` + sleep + ` 60 & echo started >> log; wait`
	r := runBinary(t, dir, nil, args(fast, "-attempts", "2", "-attempt-timeout", startTimeout, "sh", "-c", script)...)
	assert.Equal(t, 128+int(syscall.SIGTERM), r.status, r.stderr)
	assert.Equal(t, "started\nstarted\n", readFile(t, dir, "log"), "both attempts started their children")
	assert.Empty(t, survivors(t, marker), "no process of an attempt outlives it")
	assert.Equal(t, "retry: giving up after 2 attempts (-attempts 2 reached): timed out after 2s (-attempt-timeout), then killed by SIGTERM, status 143\n", r.stderr)
}

// TestAttemptTimeoutKillsWhatIgnoresTERM: children that ignore SIGTERM get
// SIGKILL after -kill-after.
func TestAttemptTimeoutKillsWhatIgnoresTERM(t *testing.T) {
	sleep, marker := markedSleep(t)
	dir := t.TempDir()
	script := count + `trap '' TERM; ` + sleep + ` 60 & ` + sleep + ` 60 & echo started >> log; wait`
	r := runBinary(t, dir, nil, args(fast, "-attempts", "2", "-attempt-timeout", startTimeout, "-kill-after", "100ms", "sh", "-c", script)...)
	assert.Equal(t, 128+int(syscall.SIGKILL), r.status, r.stderr)
	assert.Equal(t, "started\nstarted\n", readFile(t, dir, "log"))
	assert.Empty(t, survivors(t, marker))
	assert.Equal(t, "retry: giving up after 2 attempts (-attempts 2 reached): timed out after 2s (-attempt-timeout), then killed by SIGKILL after -kill-after 100ms, status 137\n", r.stderr)
}

// TestCommandSubstitution: out=$(retry -attempt-timeout ... -- sh -c
// 'sleep 60; true') returns once retry has given up: no orphan holds the
// pipe of the substitution. (Before, it returned when the orphaned sleeps
// ended.) cmd/retry/testdata/substitution.sh times this case by hand.
func TestCommandSubstitution(t *testing.T) {
	sleep, marker := markedSleep(t)
	script := `out=$("$RETRY" -q -backoff constant -delay 0 -attempts 2 -attempt-timeout ` + startTimeout + ` -- sh -c '` + sleep + ` 60; true'); echo "status $?"`
	ctx, cancel := context.WithTimeout(t.Context(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Env = append(os.Environ(), "RETRY="+binary, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.Output()
	require.NoError(t, err, "the substitution returned")
	assert.Equal(t, "status 143\n", string(out))
	assert.Empty(t, survivors(t, marker))
}

// TestSignalEndsTheGroup: each stop signal sent to retry alone (as kill
// PID does, not the terminal's Ctrl-C to the whole group) reaches the
// attempt's process group; retry waits for it, and what does not die of it
// (background jobs of sh ignore SIGINT and SIGQUIT) gets SIGKILL after
// -kill-after. retry exits with the command's status, without a retry.
func TestSignalEndsTheGroup(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM} {
		t.Run(signalName(sig), func(t *testing.T) {
			sleep, marker := markedSleep(t)
			dir := t.TempDir()
			// Two children that ignore SIGINT and SIGQUIT, as background
			// jobs of sh do, and say so once they do.
			child := `sh -c 'trap "" INT QUIT; echo up; exec ` + sleep + ` 60' & `
			script := count + child + child + `wait`
			cmd, stdout, stderr := startWatched(t, dir, args(fast, "-attempts", "5", "-kill-after", "100ms", "sh", "-c", script)...)
			readUntil(t, stdout, "up")
			readUntil(t, stdout, "up")
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(stderr)
			require.Error(t, cmd.Wait())
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), "the command's status; stderr: %s", rest)
			assert.Equal(t, "1\n", readFile(t, dir, "count"), "no retry after the signal")
			assert.Empty(t, survivors(t, marker), "nothing of the attempt is left")
			want := fmt.Sprintf("retry: interrupted by %s during attempt 1: killed by %[1]s, status %d", signalName(sig), 128+int(sig))
			if sig == syscall.SIGINT || sig == syscall.SIGQUIT {
				want += "; the rest of its process group killed by SIGKILL after -kill-after 100ms"
			}
			assert.Equal(t, want+"\n", string(rest))
		})
	}
}

// TestSignalEscalates: a command that ignores the SIGTERM retry passed on
// gets SIGKILL after -kill-after. (Before, retry waited for it forever.)
func TestSignalEscalates(t *testing.T) {
	sleep, marker := markedSleep(t)
	dir := t.TempDir()
	cmd := boundedCommand(t, dir, args(fast, "-kill-after", "100ms", "sh", "-c", count+`trap '' TERM; echo ready; `+sleep+` 60; true`)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	readUntil(t, bufio.NewReader(stdout), "ready")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Error(t, cmd.Wait())
	assert.Equal(t, 128+int(syscall.SIGKILL), cmd.ProcessState.ExitCode(), "stderr: %s", stderr.String())
	assert.Equal(t, "1\n", readFile(t, dir, "count"))
	assert.Empty(t, survivors(t, marker))
	assert.Equal(t, "retry: interrupted by SIGTERM during attempt 1: killed by SIGKILL after -kill-after 100ms, status 137\n", stderr.String())
}

// TestRetryKilledWithSIGKILL: SIGKILL cannot be caught; the command gets
// SIGKILL with retry (the parent-death signal), but what the command
// started survives in its process group, as the help says.
func TestRetryKilledWithSIGKILL(t *testing.T) {
	t.Run("the command dies with retry", func(t *testing.T) {
		sleep, marker := markedSleep(t)
		cmd := command(t, t.TempDir(), "--", sleep, "60")
		require.NoError(t, cmd.Start())
		require.Equal(t, 1, awaitSurvivors(t, marker, 1), "the command started")
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		assert.Zero(t, awaitSurvivors(t, marker, 0))
	})
	t.Run("its children survive", func(t *testing.T) {
		sleep, marker := markedSleep(t)
		shell := marker + "-sh" // the shell's $0, in its command line
		cmd := command(t, t.TempDir(), "--", "sh", "-c", sleep+" 60; true", shell)
		require.NoError(t, cmd.Start())
		require.Equal(t, 2, awaitSurvivors(t, marker, 2), "the shell and its sleep started")
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		assert.Zero(t, awaitSurvivors(t, shell, 0), "the command died with retry")
		assert.Len(t, survivors(t, marker), 1, "the sleep it started lives on (and is killed by the test)")
	})
}

// TestForeground: -foreground keeps the command in retry's process group
// (without it the command leads its own), and then a timeout reaches the
// command alone: what it started outlives the attempt, as -h says.
func TestForeground(t *testing.T) {
	pgid := `echo $$ $(cut -d' ' -f5 /proc/$$/stat)`
	for _, foreground := range []bool{false, true} {
		flags := []string{"sh", "-c", pgid}
		if foreground {
			flags = append([]string{"-foreground"}, flags...)
		}
		cmd := command(t, t.TempDir(), flags...)
		out, err := cmd.Output()
		require.NoError(t, err)
		ids := strings.Fields(string(out))
		require.Len(t, ids, 2, "%q", out)
		if foreground {
			assert.Equal(t, strconv.Itoa(cmd.Process.Pid), ids[1], "in retry's process group")
		} else {
			assert.Equal(t, ids[0], ids[1], "the command leads a process group of its own")
		}
	}

	sleep, marker := markedSleep(t)
	r := runBinary(t, t.TempDir(), nil, "-foreground", "-attempts", "1", "-attempt-timeout", startTimeout, "--", "sh", "-c", sleep+" 60 >/dev/null 2>&1; true")
	assert.Equal(t, 128+int(syscall.SIGTERM), r.status, r.stderr)
	assert.Equal(t, 1, awaitSurvivors(t, marker, 1), "with -foreground, the sleep the command started outlives the attempt")
}
