//go:build unix

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// count is a shell prelude that counts attempts in the file "count" of the
// working directory and leaves the attempt number in $n.
const count = `n=$(( $(cat count 2>/dev/null || echo 0) + 1 )); echo $n > count; `

// fast makes retries wait nothing, so that tests run real processes quickly.
var fast = []string{"-backoff", "constant", "-delay", "0"}

func args(flags []string, rest ...string) []string {
	return append(append([]string(nil), flags...), rest...)
}

func TestFailsTwiceThenSucceeds(t *testing.T) {
	dir := t.TempDir()
	r := runBinary(t, dir, nil, args(fast, "-v", "--", "sh", "-c", count+`echo "out $n"; [ $n -ge 3 ]`)...)
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Equal(t, "3\n", readFile(t, dir, "count"))
	assert.Equal(t, "out 1\nout 2\nout 3\n", r.stdout, "the command's stdout is passed through")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Len(t, lines, 3, r.stderr)
	assert.Equal(t, `msg=retrying attempt=1 max_attempts=4 wait=0s error="exit status 1"`, lines[0])
	assert.Contains(t, lines[1], "attempt=2 max_attempts=4")
	assert.Contains(t, lines[2], "msg=succeeded attempt=3 max_attempts=4 elapsed=")
}

func TestQuietByDefault(t *testing.T) {
	dir := t.TempDir()
	r := runBinary(t, dir, nil, args(fast, "sh", "-c", count+`echo err >&2; [ $n -ge 2 ]`)...)
	assert.Equal(t, 0, r.status)
	assert.Equal(t, "err\nerr\n", r.stderr, "only the command's own stderr")
}

func TestExitStatusPassthrough(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"exit status", "exit 3", 3},
		{"killed by SIGKILL", "kill -KILL $$", 128 + 9},
		{"killed by SIGTERM", "kill -TERM $$", 128 + 15},
		{"last attempt's status", `exit $(( n + 10 ))`, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runBinary(t, dir, nil, args(fast, "-attempts", "2", "--", "sh", "-c", count+tt.script)...)
			assert.Equal(t, tt.want, r.status, r.stderr)
			assert.Equal(t, "2\n", readFile(t, dir, "count"), "every attempt ran")
		})
	}
}

func TestExitStatusClassification(t *testing.T) {
	tests := []struct {
		name     string
		flags    []string
		status   string // the command's status on every attempt
		attempts string
		reason   string
	}{
		{"-stop-on listed", []string{"-stop-on", "2,5"}, "5", "1\n", "-stop-on lists this exit status"},
		{"-stop-on unlisted", []string{"-stop-on", "2,5"}, "3", "4\n", "all attempts failed (-attempts)"},
		{"-stop-on repeated", []string{"-stop-on", "2", "-stop-on", "5"}, "5", "1\n", "-stop-on lists this exit status"},
		{"-retry-on listed", []string{"-retry-on", "75"}, "75", "4\n", "all attempts failed (-attempts)"},
		{"-retry-on unlisted", []string{"-retry-on", "75"}, "1", "1\n", "-retry-on does not list this exit status"},
		{"-stop-on a signal status", []string{"-stop-on", "137"}, "137", "1\n", "-stop-on lists this exit status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runBinary(t, dir, nil, args(append(fast, append(tt.flags, "-v")...), "sh", "-c", count+"exit "+tt.status)...)
			assert.Equal(t, tt.status, strconv.Itoa(r.status), r.stderr)
			assert.Equal(t, tt.attempts, readFile(t, dir, "count"))
			assert.Contains(t, r.stderr, `msg="giving up" attempt=`+strings.TrimSpace(tt.attempts)+` max_attempts=4 reason="`+tt.reason+`" error=`)
		})
	}
}

func TestCommandCannotStart(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644))
	tests := []struct {
		name    string
		command string
		status  int
		message string
	}{
		{"not found in PATH", "retry-test-no-such-command", 127, `retry: cannot run "retry-test-no-such-command": executable file not found in $PATH`},
		{"no such path", "./missing", 127, `retry: cannot run "./missing": no such file or directory`},
		{"not executable", "./notexec", 126, `retry: cannot run "./notexec": permission denied`},
		{"a directory", dir, 126, `retry: cannot run "` + dir + `": permission denied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, dir, nil, args(fast, "-v", tt.command)...)
			assert.Equal(t, tt.status, r.status)
			assert.Equal(t, tt.message+"\n", r.stderr, "a clear message, and no retry")
		})
	}
}

func TestStdin(t *testing.T) {
	script := count + `cat >> in; echo end >> in; [ $n -ge 2 ]`
	tests := []struct {
		name  string
		flags []string
		stdin []byte
		want  string
	}{
		{"a pipe reaches every attempt", nil, []byte("hello\n"), "hello\nend\nhello\nend\n"},
		{"-stdin every", []string{"-stdin", "every"}, []byte("hello\n"), "hello\nend\nhello\nend\n"},
		{"-stdin-replay, the older spelling", []string{"-stdin-replay"}, []byte("hello\n"), "hello\nend\nhello\nend\n"},
		{"-stdin first", []string{"-stdin", "first"}, []byte("hello\n"), "hello\nend\nend\n"},
		{"-stdin none", []string{"-stdin", "none"}, []byte("hello\n"), "end\nend\n"},
		{"an empty pipe", nil, []byte{}, "end\nend\n"},
		{"/dev/null is passed", nil, nil, "end\nend\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runBinary(t, dir, tt.stdin, args(append(fast, tt.flags...), "sh", "-c", script)...)
			assert.Equal(t, 0, r.status, r.stderr)
			assert.Equal(t, "2\n", readFile(t, dir, "count"))
			assert.Equal(t, tt.want, readFile(t, dir, "in"))
		})
	}
}

// TestStdinIssueExample: `echo data | retry -v -- wc -c` counts the bytes
// on every attempt instead of printing 0 and "succeeding".
func TestStdinIssueExample(t *testing.T) {
	r := runBinary(t, t.TempDir(), []byte("data\n"), "-v", "--", "wc", "-c")
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Equal(t, "5", strings.TrimSpace(r.stdout))
}

// TestStdinSpooled: an input beyond the 1 MiB kept in memory reaches every
// attempt whole, and the temporary file holding it is gone when retry has
// exited, and also when a signal ended it.
func TestStdinSpooled(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcde\n"), stdinMemoryLimit/16*3/2) // 1.5 MiB
	t.Run("every attempt reads all of it", func(t *testing.T) {
		dir, tmp := t.TempDir(), t.TempDir()
		cmd := command(t, dir, args(fast, "sh", "-c", count+`wc -c >> sizes; [ $n -ge 3 ]`)...)
		cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
		cmd.Stdin = bytes.NewReader(big)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		n := strconv.Itoa(len(big))
		assert.Equal(t, n+"\n"+n+"\n"+n+"\n", strings.ReplaceAll(readFile(t, dir, "sizes"), " ", ""))
		assertEmptyDir(t, tmp)
	})
	t.Run("a signal during an attempt", func(t *testing.T) {
		dir, tmp := t.TempDir(), t.TempDir()
		script := count + `head -c 10 > /dev/null; trap 'kill $p; exit 42' TERM; sleep 60 & p=$!; echo ready; wait $p`
		cmd := command(t, dir, args(fast, "sh", "-c", script)...)
		cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
		cmd.Stdin = bytes.NewReader(big)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		readUntil(t, bufio.NewReader(stdout), "ready")
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		require.Error(t, cmd.Wait())
		assert.Equal(t, 42, cmd.ProcessState.ExitCode())
		assertEmptyDir(t, tmp)
	})
}

// TestStdinEndless: an input that never ends (a producer such as yes, or
// tail -f) reaches the first attempt as it comes: retry does not read it
// to its end first.
func TestStdinEndless(t *testing.T) {
	cmd := command(t, t.TempDir(), "--", "head", "-c", "5")
	cmd.Stdin = endless{}
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "yyyyy", string(out))
}

// TestStdinLive: the first attempt reads each line as the producer writes
// it, before the input ends.
func TestStdinLive(t *testing.T) {
	cmd := command(t, t.TempDir(), args(fast, "sh", "-c", `read line; echo "got $line"; cat > /dev/null`)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "first\n")
	require.NoError(t, err)
	readUntil(t, bufio.NewReader(stdout), "got first") // the input is still open
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
}

// TestStdinSignalWhileWaitingForInput: a retry waits for the end of a
// piped input to replay it; a signal then stops retry at once, with
// 128+N, though the producer is still at work.
func TestStdinSignalWhileWaitingForInput(t *testing.T) {
	dir := t.TempDir()
	cmd := command(t, dir, args(fast, "-v", "sh", "-c", count+"exit 1")...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = io.WriteString(stdin, "some input\n")
	require.NoError(t, err)
	r := bufio.NewReader(stderr)
	readUntil(t, r, "msg=retrying") // attempt 2 now waits for the end of the input
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, _ := io.ReadAll(r)
	require.Error(t, cmd.Wait())
	assert.Equal(t, 128+int(syscall.SIGTERM), cmd.ProcessState.ExitCode(), "stderr: %s", rest)
	assert.Equal(t, "1\n", readFile(t, dir, "count"))
}

// TestStdinLimit: a retry after an input longer than -stdin-limit fails
// with status 125 and says what to do; the first attempt read all of it.
func TestStdinLimit(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	input := bytes.Repeat([]byte("x"), 100)
	cmd := command(t, dir, args(fast, "-stdin-limit", "10", "sh", "-c", count+`wc -c > size; exit 1`)...)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.Error(t, cmd.Run())
	assert.Equal(t, exitFailure, cmd.ProcessState.ExitCode())
	assert.Equal(t, "retry: cannot replay standard input to attempt 2: it is longer than -stdin-limit 10; raise the limit, or use -stdin first (only the first attempt reads it) or -stdin none\n", stderr.String())
	assert.Equal(t, "1\n", readFile(t, dir, "count"))
	assert.Equal(t, "100", strings.TrimSpace(readFile(t, dir, "size")))
	assertEmptyDir(t, tmp)

	// An attempt that succeeds needs no copy: the limit does not matter.
	r := runBinary(t, t.TempDir(), input, "-stdin-limit", "10", "--", "wc", "-c")
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Equal(t, "100", strings.TrimSpace(r.stdout))
}

// TestStdinRegularFile: a redirected file reaches every attempt whole,
// given itself, with no copy (no temporary directory is needed, and the
// limit does not apply).
func TestStdinRegularFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data"), []byte("hello\n"), 0o600))
	f, err := os.Open(filepath.Join(dir, "data"))
	require.NoError(t, err)
	defer f.Close()
	cmd := command(t, dir, args(fast, "-stdin-limit", "1", "sh", "-c", count+`cat >> in; [ $n -ge 3 ]`)...)
	cmd.Env = append(cmd.Env, "TMPDIR="+filepath.Join(dir, "missing"))
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "hello\nhello\nhello\n", readFile(t, dir, "in"))
}

// TestStdinBackgroundHolder: a process the command leaves running with its
// standard input open does not keep retry waiting, whether the attempt
// read the input live (the first), from memory or from the temporary file.
func TestStdinBackgroundHolder(t *testing.T) {
	tests := []struct {
		name    string
		size    int // more than a pipe holds, which a holder would block
		holdsAt int // the attempt that leaves the holder and succeeds
	}{
		{"the first attempt", 200000, 1},
		{"a later attempt, from memory", 200000, 2},
		{"a later attempt, from the temporary file", 2 * stdinMemoryLimit, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := count + `[ $n -lt ` + strconv.Itoa(tt.holdsAt) + ` ] && exit 1
exec 3<&0; sleep 60 <&3 >/dev/null 2>&1 & echo $! > pid; exit 0`
			r := runBinary(t, dir, make([]byte, tt.size), args(fast, "sh", "-c", script)...)
			require.Equal(t, 0, r.status, r.stderr)
			pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, dir, "pid")))
			require.NoError(t, err)
			defer syscall.Kill(pid, syscall.SIGKILL)
			assert.NoError(t, syscall.Kill(pid, 0), "retry exited while the holder still runs")
		})
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no temporary file left behind")
}

// startTimeout is the -attempt-timeout of the tests below: long enough for
// a loaded machine to start the shell, count the attempt and set its trap
// before the timeout ends the attempt (with 10ms, attempts were ended
// before they counted themselves).
const startTimeout = "500ms"

func TestAttemptTimeout(t *testing.T) {
	t.Run("SIGTERM ends the attempt, which is retried", func(t *testing.T) {
		dir := t.TempDir()
		// The trap kills the background sleep so that nothing holds the pipes.
		script := count + `trap 'kill $p; echo term >> marker; exit 7' TERM; sleep 60 & p=$!; wait $p`
		r := runBinary(t, dir, nil, args(fast, "-v", "-attempts", "2", "-attempt-timeout", startTimeout, "sh", "-c", script)...)
		assert.Equal(t, 7, r.status, r.stderr)
		assert.Equal(t, "2\n", readFile(t, dir, "count"))
		assert.Equal(t, "term\nterm\n", readFile(t, dir, "marker"))
		assert.Contains(t, r.stderr, `error="attempt timed out after `+startTimeout+`, ended with exit status 7"`)
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

func TestSignalCutsTheWaitShort(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd, _, stderr := startWatched(t, dir, "-v", "-backoff", "constant", "-delay", "1h", "-max-delay", "0", "-jitter", "none", "sh", "-c", count+"exit 1")
			readUntil(t, stderr, "wait=1h0m0s") // logged before the wait starts
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(stderr)
			require.Error(t, cmd.Wait())
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), "as a shell reports the signal")
			assert.Equal(t, "1\n", readFile(t, dir, "count"))
			assert.Contains(t, string(rest), `msg="giving up" attempt=1 max_attempts=4 reason="interrupted by signal `+sig.String()+`"`)
		})
	}
}

// TestReadmeCommand runs the README's first command, with no attempt limit
// and no waits so that it always ends in success, and checks the -v lines.
func TestReadmeCommand(t *testing.T) {
	r := runBinary(t, t.TempDir(), nil, args(fast, "-v", "-attempts", "0", "--", "sh", "-c", `test $(( $$ % 3 )) -eq 0`)...)
	assert.Equal(t, 0, r.status, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	retrying := regexp.MustCompile(`^msg=retrying attempt=(\d+) max_attempts=0 wait=0s error="exit status 1"$`)
	for i, line := range lines[:len(lines)-1] {
		m := retrying.FindStringSubmatch(line)
		require.NotNil(t, m, "line %d: %q", i, line)
		assert.Equal(t, strconv.Itoa(i+1), m[1])
	}
	assert.Regexp(t, `^msg=succeeded attempt=`+strconv.Itoa(len(lines))+` max_attempts=0 elapsed=`, lines[len(lines)-1])
}
