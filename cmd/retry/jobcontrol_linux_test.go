package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// processState returns the state letter of /proc/PID/stat (R, S, T, Z...),
// or 0 when the process is gone.
func processState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	state, _, _ := parseStat(stat)
	return state
}

// awaitState polls until every pid is stopped (T) or, with stopped false,
// none is; hangBound bounds it. It reports whether that happened.
func awaitState(t *testing.T, stopped bool, pids ...int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangBound)
	defer cancel()
	for {
		done := true
		for _, pid := range pids {
			if (processState(pid) == 'T') != stopped {
				done = false
			}
		}
		if done {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestCtrlZSuspendsTheAttempt: SIGTSTP (Ctrl-Z) stops retry and the
// attempt's process group together, which the terminal's SIGTSTP does not
// reach on its own; SIGCONT (fg, bg) resumes both.
func TestCtrlZSuspendsTheAttempt(t *testing.T) {
	sleep, marker := markedSleep(t)
	cmd, stdout, stderr := startWatched(t, t.TempDir(), "-kill-after", "100ms", "--", "sh", "-c", sleep+" 60 & echo ready; wait")
	readUntil(t, stdout, "ready")
	// The shell (its script names the sleep) and the sleep: "ready" is
	// printed once the sleep is forked, maybe before it has exec'd (a
	// process's command line reads empty during its exec), so wait for both.
	require.Equal(t, 2, awaitSurvivors(t, marker, 2))
	group := survivors(t, marker)
	require.Len(t, group, 2)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTSTP))
	assert.True(t, awaitState(t, true, append(group, cmd.Process.Pid)...), "retry and its attempt's group stop")
	require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	assert.True(t, awaitState(t, false, append(group, cmd.Process.Pid)...), "and resume")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_, _ = io.ReadAll(stderr)
	require.Error(t, cmd.Wait())
	assert.Equal(t, 143, cmd.ProcessState.ExitCode())
	assert.Empty(t, survivors(t, marker))
}

// TestIgnoredSignalStaysIgnored: nohup retry ... keeps ignoring SIGHUP, and
// so does the command; the SIGTERM that follows is the one that stops it.
func TestIgnoredSignalStaysIgnored(t *testing.T) {
	sleep, marker := markedSleep(t)
	cmd := exec.CommandContext(t.Context(), "sh", "-c", `trap '' HUP; exec "$RETRY" -- "$SLEEP" 60`)
	cmd.Env = append(os.Environ(), "RETRY="+binary, "SLEEP="+sleep, "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	require.Equal(t, 1, awaitSurvivors(t, marker, 1), "the command started")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, _ := io.ReadAll(stderr)
	require.Error(t, cmd.Wait())
	assert.Equal(t, 143, cmd.ProcessState.ExitCode())
	assert.Equal(t, "retry: interrupted by SIGTERM during attempt 1: killed by SIGTERM, status 143\n", string(rest))
}
