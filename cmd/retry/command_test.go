//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
		{"-stop-on listed", []string{"-stop-on", "2,5"}, "5", "1\n", "-stop-on lists status 5"},
		{"-stop-on unlisted", []string{"-stop-on", "2,5"}, "3", "4\n", "-attempts 4 reached"},
		{"-stop-on repeated", []string{"-stop-on", "2", "-stop-on", "5"}, "5", "1\n", "-stop-on lists status 5"},
		{"-retry-on listed", []string{"-retry-on", "75"}, "75", "4\n", "-attempts 4 reached"},
		{"-retry-on unlisted", []string{"-retry-on", "75"}, "1", "1\n", "-retry-on does not list status 1"},
		{"-stop-on a signal status", []string{"-stop-on", "137"}, "137", "1\n", "-stop-on lists status 137"},
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

// TestReadmeCommand runs the README's first command, with no attempt limit
// and no waits so that it always ends in success, and checks the -v lines.
func TestReadmeCommand(t *testing.T) {
	r := runBinary(t, t.TempDir(), nil, args(fast, "-v", "-attempts", "0", "--", "sh", "-c", `test $(( $$ % 3 )) -eq 0`)...)
	assert.Equal(t, 0, r.status, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	retrying := regexp.MustCompile(`^msg=retrying attempt=(\d+) max_attempts=unlimited wait=0s error="exit status 1"$`)
	for i, line := range lines[:len(lines)-1] {
		m := retrying.FindStringSubmatch(line)
		require.NotNil(t, m, "line %d: %q", i, line)
		assert.Equal(t, strconv.Itoa(i+1), m[1])
	}
	assert.Regexp(t, `^msg=succeeded attempt=`+strconv.Itoa(len(lines))+` max_attempts=unlimited elapsed=`, lines[len(lines)-1])
}
