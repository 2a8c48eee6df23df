package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"http", "-help"}, {"help"}, {"help", "http"}} {
		status, stdout, stderr := runInProcess(t, args...)
		assert.Equal(t, 0, status)
		assert.Empty(t, stderr)
		for _, want := range []string{"usage: retry", "-attempts number", "(default 4)", "(default exponential)", "(default 100ms)", "(default 2)", "(default 30s)", "(default full)", "\n\nExit status:\n", "-q\tquiet", "-version\n"} {
			assert.Contains(t, stdout, want, "%q", args)
		}
	}
	_, stdout, _ := runInProcess(t, "http", "-h")
	assert.Contains(t, stdout, "-status statuses")
	assert.Contains(t, stdout, "-H header")
}

// TestHelpGolden: the whole of retry -h and retry http -h, so that a change
// to them is seen in review.
func TestHelpGolden(t *testing.T) {
	_, stdout, _ := runInProcess(t, "-h")
	assertGolden(t, "help-command", stdout)
	_, stdout, _ = runInProcess(t, "http", "-h")
	assertGolden(t, "help-http", stdout)
}

// TestHelpTopics: retry help, retry help http and retry help sim print the
// help of each mode, as -h does; a topic that does not exist is a usage
// error.
func TestHelpTopics(t *testing.T) {
	_, commandHelp, _ := runInProcess(t, "-h")
	_, httpHelp, _ := runInProcess(t, "http", "-h")
	_, simHelp, _ := runInProcess(t, "sim", "-h")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, commandHelp},
		{[]string{"help", "http"}, httpHelp},
		{[]string{"help", "sim"}, simHelp},
		{[]string{"-v", "help", "sim"}, simHelp},
	}
	for _, tt := range tests {
		status, stdout, stderr := runInProcess(t, tt.args...)
		assert.Equal(t, 0, status, "%q", tt.args)
		assert.Empty(t, stderr)
		assert.Equal(t, tt.want, stdout, "%q", tt.args)
	}
	status, stdout, stderr := runInProcess(t, "help", "nope")
	assert.Equal(t, exitUsage, status)
	assert.Empty(t, stdout)
	assert.Equal(t, "retry help: no help on \"nope\": the topics are http and sim\nusage: retry help [http | sim]\n", stderr)

	c, err := parseArgs([]string{"--", "help"})
	require.NoError(t, err)
	assert.Equal(t, []string{"help"}, c.command, "after --, help is a program")
}

// TestHelpMentionsSim: retry -h names the sim subcommand and where its
// help is, and that help is what it says.
func TestHelpMentionsSim(t *testing.T) {
	_, stdout, _ := runInProcess(t, "-h")
	assert.Contains(t, stdout, "retry sim [flags]        (see 'retry help sim')")
	assert.Contains(t, stdout, "To\nrun a program with one of these names, write retry [flags] -- NAME.")
	status, stdout, stderr := runInProcess(t, "sim", "-h")
	assert.Equal(t, 0, status)
	assert.Empty(t, stderr)
	assert.True(t, strings.HasPrefix(stdout, simSynopsis+"\n"), stdout)
	c, err := parseArgs([]string{"--", "sim", "-h"})
	require.NoError(t, err)
	assert.Equal(t, []string{"sim", "-h"}, c.command, "after --, sim is a program")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-backoff", "nope", "true"}, `retry: invalid value "nope" for flag -backoff: want one of constant, linear, exponential, fibonacci
usage: retry [flags] [--] COMMAND [ARGS...]
Run 'retry -h' for the flags and their defaults.
`},
		{[]string{}, `retry: no command given
usage: retry [flags] [--] COMMAND [ARGS...]
Run 'retry -h' for the flags and their defaults.
`},
		{[]string{"-q", "-v", "true"}, `retry: -q and -v cannot be combined: -q silences the give-up line, -v logs every retry
usage: retry [flags] [--] COMMAND [ARGS...]
Run 'retry -h' for the flags and their defaults.
`},
		{[]string{"http", "-status", "1000", "http://x/"}, `retry: invalid value "1000" for flag -status: want comma-separated HTTP statuses from 100 to 599, such as 502,503: 1000 is out of range
usage: retry http [flags] URL
Run 'retry http -h' for the flags and their defaults.
`},
		{[]string{"http", "-foreground", "http://x/"}, `retry: -foreground applies only to command mode, not to retry http
usage: retry http [flags] URL
Run 'retry http -h' for the flags and their defaults.
`},
	}
	for _, tt := range tests {
		status, stdout, stderr := runInProcess(t, tt.args...)
		assert.Equal(t, exitUsage, status)
		assert.Empty(t, stdout)
		assert.Equal(t, tt.want, stderr)
	}
}

func TestVersionText(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/retrykit/retry", Version: "(devel)"}}
	assert.Equal(t, "retry (devel)\nmodule   github.com/retrykit/retry\nrevision unknown: built without VCS information (go run, or -buildvcs=false)\ngo       go1.26.1\n", versionText(info))

	info.Main.Version = "v1.2.0"
	info.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: "8eaac5c4e7b1"}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}
	assert.Equal(t, "retry v1.2.0\nmodule   github.com/retrykit/retry\nrevision 8eaac5c4e7b1 (2026-05-01T10:00:00Z, with uncommitted changes)\ngo       go1.26.1\n", versionText(info))

	info.Settings = info.Settings[:1]
	assert.Contains(t, versionText(info), "\nrevision 8eaac5c4e7b1\n")
}
