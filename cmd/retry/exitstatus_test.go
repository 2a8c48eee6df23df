//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExitStatusTable runs a case of every row of the exit status table
// of retry -h, with the line retry writes on standard error, so that a
// status the command returned is told from one of retry's own. The rows
// for signals are TestSignalForwardedToTheCommand (during an attempt) and
// TestSignalCutsTheWaitShort (between attempts).
func TestExitStatusTable(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644))
	tests := []struct {
		row    string
		args   []string
		status int
		stderr string
	}{
		{"0: the command succeeded", []string{"true"}, 0, ""},
		{"N: the last attempt's status", []string{"sh", "-c", "exit 3"}, 3,
			"retry: giving up after 2 attempts (-attempts 2 reached): exit status 3\n"},
		{"128+N: the command was killed by signal N", []string{"sh", "-c", "kill -KILL $$"}, 137,
			"retry: giving up after 2 attempts (-attempts 2 reached): killed by SIGKILL, status 137\n"},
		{"2: invalid flags", []string{"-attempts", "x", "true"}, exitUsage,
			"retry: invalid value \"x\" for flag -attempts: want a whole number >= 0, such as 5 (0 means no limit)\nusage: retry [flags] [--] COMMAND [ARGS...]\nRun 'retry -h' for the flags and their defaults.\n"},
		{"2: the command's own, told by the give-up line", []string{"sh", "-c", "exit 2"}, 2,
			"retry: giving up after 2 attempts (-attempts 2 reached): exit status 2\n"},
		{"125: the command's own", []string{"sh", "-c", "exit 125"}, 125,
			"retry: giving up after 2 attempts (-attempts 2 reached): exit status 125\n"},
		{"126: the command cannot be executed", []string{"./notexec"}, exitCannotExecute,
			"retry: cannot run \"./notexec\": permission denied\n"},
		{"126: the command's own", []string{"sh", "-c", "exit 126"}, 126,
			"retry: giving up after 2 attempts (-attempts 2 reached): exit status 126\n"},
		{"127: the command was not found", []string{"retry-test-no-such-command"}, exitNotFound,
			"retry: cannot run \"retry-test-no-such-command\": executable file not found in $PATH\n"},
		{"127: the command's own", []string{"sh", "-c", "exit 127"}, 127,
			"retry: giving up after 2 attempts (-attempts 2 reached): exit status 127\n"},
		{"127 with -q: retry's own still says so", []string{"-q", "retry-test-no-such-command"}, exitNotFound,
			"retry: cannot run \"retry-test-no-such-command\": executable file not found in $PATH\n"},
		{"127 with -q: the command's own has no line", []string{"-q", "sh", "-c", "exit 127"}, 127, ""},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			r := runBinary(t, dir, nil, args(fast, append([]string{"-attempts", "2"}, tt.args...)...)...)
			assert.Equal(t, tt.status, r.status)
			assert.Equal(t, tt.stderr, r.stderr)
		})
	}

	t.Run("125: retry itself failed before any attempt ran", func(t *testing.T) {
		// With at most 5 open files, retry cannot make the pipe that gives
		// a piped standard input to the first attempt.
		cmd := exec.CommandContext(t.Context(), "sh", "-c", `ulimit -n 5 && exec "$RETRY" -- cat`)
		cmd.Env = append(os.Environ(), "RETRY="+binary, "GORACE=atexit_sleep_ms=0")
		cmd.Stdin = strings.NewReader("input\n")
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		assert.Equal(t, exitFailure, cmd.ProcessState.ExitCode())
		assert.Regexp(t, `^retry: cannot give standard input to the command: creating a pipe for the command's standard input: pipe2?: too many open files\n$`, string(out))
	})
}

// TestGiveUpLines: the line retry writes when it gives up, for each reason
// it can give up for, in a golden file (testdata/giveup.golden); -q leaves
// it out. The lines of timeouts and signals are checked where those are
// tested (process_linux_test.go).
func TestGiveUpLines(t *testing.T) {
	runs := [][]string{
		{"-attempts", "3", "sh", "-c", "exit 1"},
		{"-attempts", "0", "-backoff", "constant", "-delay", "1s", "-max-elapsed", "500ms", "sh", "-c", "exit 1"},
		{"-stop-on", "5", "sh", "-c", "exit 5"},
		{"-retry-on", "75", "sh", "-c", "exit 1"},
		{"-attempts", "2", "sh", "-c", "kill -TERM $$"},
		{"-attempts", "2", "-stdin-limit", "4", "sh", "-c", "cat > /dev/null; exit 1"},
		{"-attempts", "2", "-stdin", "none", "sh", "-c", "exit 1"},
		{"-q", "-attempts", "2", "sh", "-c", "exit 1"},
		{"-attempts", "3", "sh", "-c", `test "$(cat)" = ok || exit 4; echo done`},
	}
	var golden strings.Builder
	for _, run := range runs {
		r := runBinary(t, t.TempDir(), []byte("some input\n"), args([]string{"-delay", "0"}, run...)...)
		fmt.Fprintf(&golden, "$ retry %s\n%sexit %d\n\n", strings.Join(run, " "), r.stderr, r.status)
	}
	assertGolden(t, "giveup", golden.String())
}

// TestVersion: retry -version names the module and the VCS revision the
// binary was built from, as go version -m reads them from the binary (a
// build in a clone has them; GOFLAGS=-buildvcs=false, or a git worktree,
// leaves them out, and -version then says so), in either mode, and exits 0.
func TestVersion(t *testing.T) {
	info, err := exec.Command("go", "version", "-m", binary).Output()
	require.NoError(t, err)
	revision := "unknown: built without VCS information"
	for line := range strings.Lines(string(info)) {
		if rev, ok := strings.CutPrefix(strings.TrimSpace(line), "build\tvcs.revision="); ok {
			revision = rev
		}
	}
	for _, flags := range [][]string{{"-version"}, {"http", "-version"}, {"-v", "-version", "-attempts", "3"}} {
		r := runBinary(t, t.TempDir(), nil, flags...)
		require.Equal(t, 0, r.status, r.stderr)
		assert.Empty(t, r.stderr)
		assert.Regexp(t, `^retry \S+\nmodule   github.com/retrykit/retry\nrevision `+regexp.QuoteMeta(revision)+`.*\ngo       go1\.\S+\n$`, r.stdout)
	}
}
