package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
