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

func TestParseArgsErrors(t *testing.T) {
	const (
		count    = "want a whole number >= 0, such as 5 (0 means no limit)"
		duration = "want a duration >= 0 in Go syntax, such as 250ms, 2s or 1m30s"
		mult     = "want a finite number >= 1, such as 1.5 or 2"
		backoff  = "want one of constant, linear, exponential, fibonacci"
		jitter   = "want none, full, equal, decorrelated, or proportional:F with F from 0 to 1"
		exits    = "want comma-separated exit statuses from 1 to 255, such as 1,75"
		statuses = "want comma-separated HTTP statuses from 100 to 599, such as 502,503"
		method   = "want an HTTP method such as GET, POST, PUT or DELETE"
		header   = `want "Name: value", such as "Accept: application/json"`
	)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-attempts", "-1", "true"}, `invalid value "-1" for flag -attempts: ` + count},
		{[]string{"-attempts", "x", "true"}, `invalid value "x" for flag -attempts: ` + count},
		{[]string{"-attempts", "1.5", "true"}, `invalid value "1.5" for flag -attempts: ` + count},
		{[]string{"-attempts", "", "true"}, `invalid value "" for flag -attempts: ` + count},
		{[]string{"-attempts", "99999999999999999999", "true"}, `for flag -attempts: ` + count},
		{[]string{"-attempts"}, "flag needs an argument: -attempts"},
		{[]string{"-backoff", "quadratic", "true"}, `invalid value "quadratic" for flag -backoff: ` + backoff},
		{[]string{"-backoff", "", "true"}, `invalid value "" for flag -backoff: ` + backoff},
		{[]string{"-backoff", "Constant", "true"}, `invalid value "Constant" for flag -backoff: ` + backoff},
		{[]string{"-delay", "-1s", "true"}, `invalid value "-1s" for flag -delay: ` + duration},
		{[]string{"-delay", "5", "true"}, `invalid value "5" for flag -delay: ` + duration},
		{[]string{"-delay", "1 s", "true"}, `invalid value "1 s" for flag -delay: ` + duration},
		{[]string{"-delay", "", "true"}, `invalid value "" for flag -delay: ` + duration},
		{[]string{"-delay", "3000000h", "true"}, `invalid value "3000000h" for flag -delay: ` + duration},
		{[]string{"-step", "-1ms", "-backoff", "linear", "true"}, `invalid value "-1ms" for flag -step: ` + duration},
		{[]string{"-step", "1s", "true"}, "-step applies only to -backoff linear (the backoff is exponential)"},
		{[]string{"-backoff", "fibonacci", "-step", "1s", "true"}, "-step applies only to -backoff linear (the backoff is fibonacci)"},
		{[]string{"-multiplier", "0.5", "true"}, `invalid value "0.5" for flag -multiplier: ` + mult},
		{[]string{"-multiplier", "-2", "true"}, `invalid value "-2" for flag -multiplier: ` + mult},
		{[]string{"-multiplier", "NaN", "true"}, `invalid value "NaN" for flag -multiplier: ` + mult},
		{[]string{"-multiplier", "Inf", "true"}, `invalid value "Inf" for flag -multiplier: ` + mult},
		{[]string{"-multiplier", "two", "true"}, `invalid value "two" for flag -multiplier: ` + mult},
		{[]string{"-multiplier", "1e400", "true"}, `invalid value "1e400" for flag -multiplier: ` + mult},
		{[]string{"-backoff", "constant", "-multiplier", "2", "true"}, "-multiplier applies only to -backoff exponential (the backoff is constant)"},
		{[]string{"-max-delay", "-1s", "true"}, `invalid value "-1s" for flag -max-delay: ` + duration},
		{[]string{"-max-elapsed", "-1s", "true"}, `invalid value "-1s" for flag -max-elapsed: ` + duration},
		{[]string{"-max-elapsed", "soon", "true"}, `invalid value "soon" for flag -max-elapsed: ` + duration},
		{[]string{"-attempt-timeout", "-1ns", "true"}, `invalid value "-1ns" for flag -attempt-timeout: ` + duration},
		{[]string{"-attempt-timeout", "10", "true"}, `invalid value "10" for flag -attempt-timeout: ` + duration},
		{[]string{"-kill-after", "-1s", "true"}, `invalid value "-1s" for flag -kill-after: ` + duration},
		{[]string{"-kill-after", "1s", "true"}, "-kill-after applies only with -attempt-timeout"},
		{[]string{"-jitter", "random", "true"}, `invalid value "random" for flag -jitter: ` + jitter},
		{[]string{"-jitter", "", "true"}, `invalid value "" for flag -jitter: ` + jitter},
		{[]string{"-jitter", "FULL", "true"}, `invalid value "FULL" for flag -jitter: ` + jitter},
		{[]string{"-jitter", "proportional", "true"}, `invalid value "proportional" for flag -jitter: ` + jitter},
		{[]string{"-jitter", "proportional:", "true"}, `for flag -jitter: proportional:F needs a fraction F from 0 to 1, such as proportional:0.2, got ""`},
		{[]string{"-jitter", "proportional:1.5", "true"}, `for flag -jitter: proportional:F needs a fraction F from 0 to 1, such as proportional:0.2, got "1.5"`},
		{[]string{"-jitter", "proportional:-0.1", "true"}, `got "-0.1"`},
		{[]string{"-jitter", "proportional:NaN", "true"}, `got "NaN"`},
		{[]string{"-jitter", "proportional:x", "true"}, `got "x"`},
		{[]string{"-retry-on", "0", "true"}, `invalid value "0" for flag -retry-on: ` + exits + ": 0 is out of range"},
		{[]string{"-retry-on", "256", "true"}, `invalid value "256" for flag -retry-on: ` + exits + ": 256 is out of range"},
		{[]string{"-retry-on", "-1", "true"}, exits + ": -1 is out of range"},
		{[]string{"-retry-on", "a", "true"}, exits + `: "a" is not a number`},
		{[]string{"-retry-on", "1,,2", "true"}, exits + `: "" is not a number`},
		{[]string{"-retry-on", "", "true"}, exits + `: "" is not a number`},
		{[]string{"-retry-on", "1;2", "true"}, exits + `: "1;2" is not a number`},
		{[]string{"-stop-on", "300", "true"}, `invalid value "300" for flag -stop-on: ` + exits + ": 300 is out of range"},
		{[]string{"-stop-on", "x", "true"}, `for flag -stop-on: ` + exits},
		{[]string{"-retry-on", "1", "-stop-on", "2", "true"}, "-retry-on and -stop-on cannot be combined"},
		{[]string{"-v=maybe", "true"}, `invalid boolean value "maybe" for -v`},
		{[]string{"-stdin", "sometimes", "true"}, `invalid value "sometimes" for flag -stdin: want one of every, first, none`},
		{[]string{"-stdin", "", "true"}, `invalid value "" for flag -stdin: want one of every, first, none`},
		{[]string{"-stdin-replay", "-stdin", "none", "true"}, "-stdin-replay means -stdin every and cannot be combined with -stdin none"},
		{[]string{"-stdin", "first", "-stdin-limit", "1M", "true"}, "-stdin-limit applies only to -stdin every (it is first)"},
		{[]string{"-stdin-limit", "1MB", "true"}, `invalid value "1MB" for flag -stdin-limit: want a size in bytes >= 0, such as 1048576, 512K, 64M or 1G (K, M, G, T: KiB, MiB, GiB, TiB)`},
		{[]string{"-stdin-limit", "-1", "true"}, `invalid value "-1" for flag -stdin-limit: want a size in bytes >= 0, such as 1048576, 512K, 64M or 1G (K, M, G, T: KiB, MiB, GiB, TiB)`},
		{[]string{"http", "-stdin", "every", "http://a/"}, "-stdin applies only to command mode, not to retry http"},
		{[]string{"http", "--stdin-limit=1", "http://a/"}, "-stdin-limit applies only to command mode, not to retry http"},
		{[]string{"-nope", "true"}, "flag provided but not defined: -nope"},
		{[]string{"-status", "503", "true"}, "-status applies only to retry http"},
		{[]string{"-X", "POST", "true"}, "-X applies only to retry http"},
		{[]string{}, "no command given"},
		{[]string{"-v", "--"}, "no command given"},
		{[]string{"--", "", "x"}, "the command name is empty"},
		{[]string{""}, "the command name is empty"},
		{[]string{"http"}, "retry http needs a URL"},
		{[]string{"http", "http://a/", "http://b/"}, `retry http takes one URL, got 2 arguments: ["http://a/" "http://b/"] (flags go before the URL)`},
		{[]string{"http", "http://a/", "-v"}, "retry http takes one URL, got 2 arguments"},
		{[]string{"http", "example.com"}, `URL "example.com" needs the scheme http:// or https://, such as http://example.com`},
		{[]string{"http", "localhost:8080/x"}, `URL "localhost:8080/x" needs the scheme http:// or https://`},
		{[]string{"http", "127.0.0.1:8080"}, `URL "127.0.0.1:8080" needs the scheme http:// or https://`},
		{[]string{"http", ""}, `URL "" needs the scheme http:// or https://`},
		{[]string{"http", "ftp://example.com/"}, `URL "ftp://example.com/" has the scheme "ftp": want http or https`},
		{[]string{"http", "http:///path"}, `URL "http:///path" has no host`},
		{[]string{"http", "http://[::1"}, `invalid URL "http://[::1": missing ']' in host`},
		{[]string{"http", "-X", "", "http://a/"}, `invalid value "" for flag -X: ` + method},
		{[]string{"http", "-X", "GE T", "http://a/"}, `invalid value "GE T" for flag -X: ` + method},
		{[]string{"http", "-X", "a/b", "http://a/"}, `for flag -X: ` + method},
		{[]string{"http", "-H", "NoColon", "http://a/"}, `invalid value "NoColon" for flag -H: ` + header},
		{[]string{"http", "-H", ": v", "http://a/"}, `invalid value ": v" for flag -H: ` + header},
		{[]string{"http", "-H", "Bad Name: v", "http://a/"}, `for flag -H: ` + header},
		{[]string{"http", "-H", "X: a\r\nY: b", "http://a/"}, `for flag -H: a header value cannot contain CR, LF or NUL`},
		{[]string{"http", "-status", "99", "http://a/"}, `invalid value "99" for flag -status: ` + statuses + ": 99 is out of range"},
		{[]string{"http", "-status", "600", "http://a/"}, statuses + ": 600 is out of range"},
		{[]string{"http", "-status", "5xx", "http://a/"}, statuses + `: "5xx" is not a number`},
		{[]string{"http", "-retry-on", "1", "http://a/"}, "-retry-on applies only to command mode, not to retry http"},
		{[]string{"http", "-stdin-replay", "http://a/"}, "-stdin-replay applies only to command mode, not to retry http"},
		{[]string{"http", "-kill-after", "1s", "http://a/"}, "-kill-after applies only to command mode, not to retry http"},
		{[]string{"http", "-nope", "http://a/"}, "flag provided but not defined: -nope"},
		{[]string{"-retry-on", "1", "http", "http://a/"}, "-retry-on applies only to command mode, not to retry http\nTo run a program named http: retry [flags] -- http ..."},
		{[]string{"-stdin", "none", "http", "http://a/"}, "-stdin applies only to command mode, not to retry http\nTo run a program named http: retry [flags] -- http ..."},
		{[]string{"-v", "http"}, "retry http needs a URL\nTo run a program named http: retry [flags] -- http ..."},
		{[]string{"http", "-jitter", "half", "http://a/"}, `invalid value "half" for flag -jitter: ` + jitter},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c, err := parseArgs(tt.args)
			require.Error(t, err)
			assert.Nil(t, c)
			var ue *usageError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, err.Error(), tt.want)
			if len(tt.args) > 0 && tt.args[0] == "http" {
				assert.NotContains(t, err.Error(), "program named http", "http came first: no doubt about it")
			}
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

func TestParseJitterRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := rapid.SampledFrom([]retry.Jitter{
			retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter,
			retry.ProportionalJitter(rapid.Float64Range(0, 1).Draw(t, "f")),
		}).Draw(t, "jitter")
		got, err := parseJitter(j.String())
		require.NoError(t, err)
		require.Equal(t, j, got)
	})
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

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"10", 10}, {"512K", 512 << 10}, {"512KiB", 512 << 10}, {"64M", 64 << 20},
		{"1G", 1 << 30}, {"1GiB", 1 << 30}, {"2T", 2 << 40}, {"8388607T", 8388607 << 40},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "K", "-1", "+1", "1.5G", "1g", "1KB", "1iB", "8388608T", "1 G", "0x10"} {
		_, err := parseSize(bad)
		assert.Error(t, err, "%q", bad)
	}
	c, err := parseArgs([]string{"-stdin-limit", "64M", "true"})
	require.NoError(t, err)
	assert.Equal(t, int64(64<<20), c.stdinLimit)
	c, err = parseArgs([]string{"true"})
	require.NoError(t, err)
	assert.Equal(t, int64(1<<30), c.stdinLimit, "1 GiB by default")
	assert.Equal(t, "1G", formatSize(c.stdinLimit))
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "10", "512K", "1GiB", "8388607T", "-1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative %d accepted", s, n)
		}
		back, err := parseSize(formatSize(n))
		if err != nil || back != n {
			t.Fatalf("%q: %d does not round-trip through %q: %d, %v", s, n, formatSize(n), back, err)
		}
	})
}

func FuzzParseJitter(f *testing.F) {
	for _, s := range []string{"none", "full", "equal", "decorrelated", "proportional:0.2", "proportional:1e-3", "proportional:-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := parseJitter(s)
		if err != nil {
			return
		}
		if _, err := retry.NewPolicy(retry.WithJitter(j)); err != nil {
			t.Fatalf("%q parsed to an invalid jitter: %v", s, err)
		}
		back, err := parseJitter(j.String())
		if err != nil || back != j {
			t.Fatalf("%q: %v does not round-trip: %v, %v", s, j, back, err)
		}
	})
}

func FuzzParseIntList(f *testing.F) {
	for _, s := range []string{"1", "1,2,3", " 4 , 5 ", "", ",", "0x10", "+7", "1e2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseIntList(s, 1, 255)
		if err != nil {
			return
		}
		if len(ns) != strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d items from %d fields", s, len(ns), strings.Count(s, ",")+1)
		}
		for _, n := range ns {
			if n < 1 || n > 255 {
				t.Fatalf("%q: %d out of range", s, n)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "250ms", "1m30s", "-1s", "5", "1.5h", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("%q: negative %v accepted", s, d)
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
