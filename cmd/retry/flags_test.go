package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestParseArgsDefaults(t *testing.T) {
	c, err := parseArgs([]string{"--", "make", "-k"})
	require.NoError(t, err)
	assert.Equal(t, retry.DefaultMaxAttempts, c.attempts)
	assert.Equal(t, backoffExponential, c.backoff)
	assert.Equal(t, retry.DefaultInitial, c.delay)
	assert.Equal(t, retry.DefaultMultiplier, c.multiplier)
	assert.Equal(t, retry.DefaultMaxDelay, c.maxDelay)
	assert.Equal(t, retry.FullJitter, c.jitter)
	assert.Equal(t, defaultKillAfter, c.killAfter)
	assert.Zero(t, c.maxElapsed)
	assert.Zero(t, c.attemptTimeout)
	assert.Equal(t, []string{"make", "-k"}, c.command)
	assert.False(t, c.http || c.verbose || c.dryRun || c.stdinReplay)
	assert.Equal(t, stdinEvery, c.stdin, "piped input reaches every attempt unless asked otherwise")
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c *config)
	}{
		{"command without --", []string{"-attempts", "2", "echo", "-v"}, func(t *testing.T, c *config) {
			assert.Equal(t, 2, c.attempts)
			assert.Equal(t, []string{"echo", "-v"}, c.command, "flags after the command are its own")
			assert.False(t, c.verbose)
		}},
		{"attempts 0 means no limit", []string{"-attempts", "0", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, 0, c.attempts)
		}},
		{"constant", []string{"-backoff", "constant", "-delay", "0", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.Constant(0), c.strategy())
		}},
		{"linear step defaults to delay", []string{"-backoff", "linear", "-delay", "1s", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.Linear(time.Second, time.Second), c.strategy())
		}},
		{"linear with step", []string{"-backoff=linear", "-delay=1s", "-step=250ms", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.Linear(time.Second, 250*time.Millisecond), c.strategy())
		}},
		{"exponential", []string{"-multiplier", "1.5", "-delay", "2ms", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.Exponential(2*time.Millisecond, 1.5), c.strategy())
		}},
		{"fibonacci", []string{"-backoff", "fibonacci", "-delay", "10ms", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.Fibonacci(10*time.Millisecond), c.strategy())
		}},
		{"limits", []string{"-max-delay", "0", "-max-elapsed", "1m30s", "-attempt-timeout", "5s", "-kill-after", "1s", "true"}, func(t *testing.T, c *config) {
			assert.Zero(t, c.maxDelay)
			assert.Equal(t, 90*time.Second, c.maxElapsed)
			assert.Equal(t, 5*time.Second, c.attemptTimeout)
			assert.Equal(t, time.Second, c.killAfter)
		}},
		{"jitter none", []string{"-jitter", "none", "true"}, func(t *testing.T, c *config) { assert.Equal(t, retry.NoJitter, c.jitter) }},
		{"jitter full", []string{"-jitter", "full", "true"}, func(t *testing.T, c *config) { assert.Equal(t, retry.FullJitter, c.jitter) }},
		{"jitter equal", []string{"-jitter", "equal", "true"}, func(t *testing.T, c *config) { assert.Equal(t, retry.EqualJitter, c.jitter) }},
		{"jitter decorrelated", []string{"-jitter", "decorrelated", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.DecorrelatedJitter, c.jitter)
		}},
		{"jitter proportional", []string{"-jitter", "proportional:0.25", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.ProportionalJitter(0.25), c.jitter)
		}},
		{"jitter proportional bounds", []string{"-jitter", "proportional:1", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, retry.ProportionalJitter(1), c.jitter)
		}},
		{"retry-on", []string{"-retry-on", "1, 75", "-retry-on", "255", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, []int{1, 75, 255}, c.retryOn)
		}},
		{"stop-on", []string{"-stop-on", "2", "true"}, func(t *testing.T, c *config) { assert.Equal(t, []int{2}, c.stopOn) }},
		{"switches", []string{"-v", "-dry-run", "-stdin-replay", "true"}, func(t *testing.T, c *config) {
			assert.True(t, c.verbose && c.dryRun && c.stdinReplay)
		}},
		{"stdin every", []string{"-stdin", "every", "true"}, func(t *testing.T, c *config) { assert.Equal(t, stdinEvery, c.stdin) }},
		{"stdin first", []string{"-stdin", "first", "true"}, func(t *testing.T, c *config) { assert.Equal(t, stdinFirst, c.stdin) }},
		{"stdin none", []string{"-stdin=none", "true"}, func(t *testing.T, c *config) { assert.Equal(t, stdinNone, c.stdin) }},
		{"stdin-replay is stdin every", []string{"-stdin-replay", "-stdin", "every", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, stdinEvery, c.stdin)
		}},
		{"flags before http", []string{"-v", "-attempts", "2", "http", "-X", "PUT", "http://x/"}, func(t *testing.T, c *config) {
			assert.True(t, c.http && c.verbose)
			assert.Equal(t, 2, c.attempts)
			assert.Equal(t, http.MethodPut, c.method)
			assert.Equal(t, "http://x/", c.url)
		}},
		{"http-only flags before http", []string{"-idempotent", "-X=POST", "http", "http://x/"}, func(t *testing.T, c *config) {
			assert.True(t, c.http && c.idempotent)
			assert.Equal(t, http.MethodPost, c.method)
		}},
		{"a program named http after --", []string{"-v", "--", "http", "GET", "example.com"}, func(t *testing.T, c *config) {
			assert.False(t, c.http)
			assert.Equal(t, []string{"http", "GET", "example.com"}, c.command)
		}},
		{"http as an argument of the command", []string{"-v", "curl", "http"}, func(t *testing.T, c *config) {
			assert.False(t, c.http)
			assert.Equal(t, []string{"curl", "http"}, c.command)
		}},
		{"dry-run needs no command", []string{"-dry-run"}, func(t *testing.T, c *config) { assert.Empty(t, c.command) }},
		{"-kill-after without -attempt-timeout: it bounds the end of a signalled attempt", []string{"-kill-after", "2s", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, 2*time.Second, c.killAfter)
		}},
		{"-kill-after default", []string{"true"}, func(t *testing.T, c *config) { assert.Equal(t, defaultKillAfter, c.killAfter) }},
		{"-foreground and -q", []string{"-foreground", "-q", "true"}, func(t *testing.T, c *config) { assert.True(t, c.foreground && c.quiet) }},
		{"-q in http mode", []string{"http", "-q", "http://x/"}, func(t *testing.T, c *config) { assert.True(t, c.quiet) }},
		{"-version needs no command", []string{"-version"}, func(t *testing.T, c *config) { assert.True(t, c.version) }},
		{"-version skips the other checks", []string{"-version", "-step", "1s"}, func(t *testing.T, c *config) { assert.True(t, c.version) }},
		{"-attempts 1 keeps no copy of standard input", []string{"-attempts", "1", "true"}, func(t *testing.T, c *config) {
			assert.Equal(t, stdinEvery, c.stdin)
			assert.Equal(t, stdinFirst, c.stdinMode())
		}},
		{"http", []string{"http", "-X", "post", "-d", "@body.json", "-H", "Idempotency-Key: 42", "-H", "X-A:b", "-status", "500,503", "-idempotent", "http://x/"},
			func(t *testing.T, c *config) {
				assert.True(t, c.http)
				assert.Equal(t, http.MethodPost, c.method)
				assert.Equal(t, "@body.json", c.data)
				assert.Equal(t, http.Header{"Idempotency-Key": {"42"}, "X-A": {"b"}}, c.headers)
				assert.Equal(t, []int{500, 503}, c.statuses)
				assert.True(t, c.idempotent)
				assert.Equal(t, "http://x/", c.url)
			}},
		{"http defaults", []string{"http", "http://x/"}, func(t *testing.T, c *config) {
			assert.Equal(t, http.MethodGet, c.method)
			assert.Nil(t, c.statuses)
			assert.Empty(t, c.headers)
		}},
		{"http dry-run needs no URL", []string{"http", "-dry-run"}, func(t *testing.T, c *config) { assert.Empty(t, c.url) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseArgs(tt.args)
			require.NoError(t, err)
			tt.check(t, c)
			_, err = c.policy()
			require.NoError(t, err)
		})
	}
}

// TestSubcommandFirst: a subcommand after flags moves to the front, http
// and sim alike; after -- it is a command's name.
func TestSubcommandFirst(t *testing.T) {
	tests := []struct {
		args, want []string
		moved      bool
	}{
		{[]string{"-v", "http", "URL"}, []string{"http", "-v", "URL"}, true},
		{[]string{"-attempts", "3", "sim", "-clients", "2"}, []string{"sim", "-attempts", "3", "-clients", "2"}, true},
		{[]string{"-jitter=none", "-delay", "1s", "sim"}, []string{"sim", "-jitter=none", "-delay", "1s"}, true},
		{[]string{"sim", "-attempts", "3"}, []string{"sim", "-attempts", "3"}, false},
		{[]string{"-v", "--", "sim"}, []string{"-v", "--", "sim"}, false},
		{[]string{"-v", "--", "http", "x"}, []string{"-v", "--", "http", "x"}, false},
		{[]string{"-v", "make", "sim"}, []string{"-v", "make", "sim"}, false},
		{[]string{"-nope", "sim"}, []string{"-nope", "sim"}, false},
	}
	for _, tt := range tests {
		got, moved := subcommandFirst(tt.args)
		assert.Equal(t, tt.want, got, "%q", tt.args)
		assert.Equal(t, tt.moved, moved, "%q", tt.args)
	}
}

func TestParseArgsHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}, {"--help"}, {"http", "-h"}, {"-v", "-h", "true"}} {
		_, err := parseArgs(args)
		assert.ErrorIs(t, err, errHelp, "%q", args)
	}
}

// TestAcceptedFlagsBuildAPolicy: whatever parseArgs accepts, the library
// accepts too, so no invalid configuration reaches retry.Do.
func TestAcceptedFlagsBuildAPolicy(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dur := func(name string) string {
			return time.Duration(rapid.Int64Range(0, math.MaxInt64).Draw(t, name)).String()
		}
		args := []string{
			"-attempts", strconv.Itoa(rapid.IntRange(0, 1000).Draw(t, "attempts")),
			"-delay", dur("delay"), "-max-delay", dur("max-delay"),
			"-max-elapsed", dur("max-elapsed"), "-attempt-timeout", dur("attempt-timeout"),
			"-jitter", rapid.SampledFrom([]string{"none", "full", "equal", "decorrelated", "proportional:0", "proportional:0.5", "proportional:1"}).Draw(t, "jitter"),
		}
		switch kind := rapid.SampledFrom(backoffKinds).Draw(t, "backoff"); kind {
		case backoffLinear:
			args = append(args, "-backoff", kind, "-step", dur("step"))
		case backoffExponential:
			args = append(args, "-backoff", kind, "-multiplier", strconv.FormatFloat(rapid.Float64Range(1, 1e6).Draw(t, "multiplier"), 'g', -1, 64))
		default:
			args = append(args, "-backoff", kind)
		}
		c, err := parseArgs(append(args, "true"))
		require.NoError(t, err)
		p, err := c.policy()
		require.NoError(t, err)
		for _, d := range p.Schedule(5) {
			require.GreaterOrEqual(t, d, time.Duration(0))
			if c.maxDelay > 0 {
				require.LessOrEqual(t, d, c.maxDelay)
			}
		}
	})
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-attempts 3 -backoff linear -delay 1s -step 2s -- true")
	f.Add("-jitter proportional:0.3 -retry-on 1,2 -max-elapsed 1m true")
	f.Add("http -X POST -H A:b -status 503 -d x http://h/")
	f.Add("-v -attempts 2 http -X PUT http://h/")
	f.Add("-stdin first -stdin-replay -- http x")
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseArgs(strings.Fields(line))
		if err != nil {
			var ue *usageError
			if !errors.Is(err, errHelp) && !errors.As(err, &ue) {
				t.Fatalf("%q: error %v is neither help nor a usage error", line, err)
			}
			return
		}
		if _, err := c.policy(); err != nil {
			t.Fatalf("%q: accepted, but the library rejects it: %v", line, err)
		}
	})
}

// TestSimFlagsBeforeSubcommand: retry -attempts 3 sim ... is retry sim
// -attempts 3 ..., as with http, not a run of a program named sim.
func TestSimFlagsBeforeSubcommand(t *testing.T) {
	require.Equal(t, []string{"-attempts", "3"}, short[len(short)-2:])
	_, want, _ := runSimArgs(t, append(short, "-format", "csv", "-seed", "5")...)
	args := slices.Concat([]string{"-attempts", "3", "sim"}, short[:len(short)-2], []string{"-format", "csv", "-seed", "5"})
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	assert.NotEmpty(t, want)
	assert.Equal(t, want, out.String())
}
