//go:build unix

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// TestStdinEndlessRetried is yes | retry -attempts 3 -- sh -c
// 'head -n1; exit 1': an endless input cannot be replayed; retry reads it
// up to -stdin-limit (64 MiB by default, not 1 GiB) and gives up with the
// command's status (not 125) and a line that says why.
func TestStdinEndlessRetried(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", `yes | "$RETRY" -attempts 3 -- sh -c '`+count+`head -n1; exit 1'`)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RETRY="+binary, "TMPDIR="+tmp, "GORACE=atexit_sleep_ms=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.Error(t, err)
	assert.Equal(t, 1, cmd.ProcessState.ExitCode(), "the command's status")
	assert.Equal(t, "y\n", string(out))
	assert.Equal(t, "1\n", readFile(t, dir, "count"))
	assert.Equal(t, "retry: giving up after 1 attempt (standard input cannot be replayed: it is longer than -stdin-limit 64M; raise it, or use -stdin first or -stdin none): exit status 1\n", stderr.String())
	assertEmptyDir(t, tmp)
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

// TestStdinLimit: an input longer than -stdin-limit cannot be replayed:
// retry gives up after the first attempt, which read all of it, with that
// attempt's status (not 125, which would hide it), and says why.
func TestStdinLimit(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	input := bytes.Repeat([]byte("x"), 100)
	cmd := command(t, dir, args(fast, "-stdin-limit", "10", "sh", "-c", count+`wc -c > size; exit 3`)...)
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.Error(t, cmd.Run())
	assert.Equal(t, 3, cmd.ProcessState.ExitCode(), "the command's status")
	assert.Equal(t, "retry: giving up after 1 attempt (standard input cannot be replayed: it is longer than -stdin-limit 10; raise it, or use -stdin first or -stdin none): exit status 3\n", stderr.String())
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
