package main

import (
	"fmt"
	"io"
)

const (
	commandSynopsis = "usage: retry [flags] [--] COMMAND [ARGS...]"
	httpSynopsis    = "usage: retry http [flags] URL"
)

// printUsageError reports a command-line error; exit status 2 follows.
func printUsageError(w io.Writer, err *usageError, isHTTP bool) {
	synopsis, help := commandSynopsis, "retry -h"
	if isHTTP {
		synopsis, help = httpSynopsis, "retry http -h"
	}
	fmt.Fprintf(w, "retry: %v\n%s\nRun '%s' for the flags and their defaults.\n", err, synopsis, help)
}

// printHelp writes the -h text of a mode: synopsis, flags with their
// defaults, and the behaviour a script relies on.
func printHelp(w io.Writer, isHTTP bool) {
	fs := newFlagSet(defaultConfig(isHTTP))
	fs.SetOutput(w)
	head, tail := commandHelpHead, commandHelpTail
	if isHTTP {
		head, tail = httpHelpHead, httpHelpTail
	}
	fmt.Fprint(w, head)
	fmt.Fprintln(w, "\nFlags:")
	fs.PrintDefaults()
	fmt.Fprint(w, tail)
}

const commandHelpHead = commandSynopsis + `
       retry http [flags] URL   (see 'retry http -h')
       retry sim [flags]        (see 'retry sim -h')

Runs COMMAND until it exits with status 0 or the policy gives up, waiting
between attempts: by default up to 4 attempts, exponential backoff from 100ms
doubling each time, each wait capped at 30s and drawn at random below that
(full jitter). Durations use Go syntax: 250ms, 2s, 1m30s.
`

const commandHelpTail = `
A first argument http (after any flags) selects HTTP mode: retry -v http URL
is retry http -v URL. To run a program named http, write retry [flags] -- http.
A first argument sim (after any flags) runs the fleet simulator instead:
retry sim -attempts 3 -budget none,grpc shows what the policy's retries do to
a dependency that fails. To run a program named sim, write retry [flags] -- sim.

Exit status:
  0        the command succeeded
  N        otherwise the last attempt's status; a command killed by a signal
           gives 128+signal, as in shells
  2        invalid flags or arguments
  125      retry itself failed (reading standard input for -stdin every)
  126      the command could not be started (not executable); not retried
  127      the command was not found; not retried
  128+sig  SIGINT or SIGTERM arrived while retry was waiting between attempts

Standard input: a terminal (or /dev/null) is passed to every attempt. A
redirected file is given itself to every attempt, from the start. A pipe is
read by the first attempt as it comes while retry keeps a copy (in memory up
to 1 MiB, beyond that in a temporary file unlinked at once); later attempts
read all of it from the start. -stdin-limit (1G) caps the copy: a retry
after a longer input exits 125. -stdin first gives the input as is to the
first attempt only, and later attempts read an empty input; -stdin none
gives it to no attempt.

Signals: SIGINT and SIGTERM stop the retrying. A running command gets the
signal (a Ctrl-C typed at the terminal already reaches it directly, so it is
not sent twice) and retry exits with the command's status; a wait in progress
ends at once. -attempt-timeout ends an attempt with SIGTERM, then SIGKILL
after -kill-after, and that attempt is retried.

Examples:
  retry -v -attempts 5 -- sh -c 'test $(( $$ % 3 )) -eq 0'
  retry -backoff constant -delay 2s -attempts 0 -max-elapsed 5m -- curl -fsS https://example.com/health
  retry -stop-on 2,64 -- make deploy
  retry -- psql -v ON_ERROR_STOP=1 < migration.sql
  retry -dry-run -attempts 6 -jitter none
`

const httpHelpHead = httpSynopsis + `

Sends an HTTP request until the response is not worth retrying or the policy
gives up, then prints the final response's body to standard output. Retried:
connection errors, attempt timeouts, 408, 429 and 5xx except 501 (see
-status), honouring Retry-After. POST and PATCH are retried only with an
Idempotency-Key header or -idempotent. Same policy flags and defaults as
command mode; flags may come before or after the word http.
`

const httpHelpTail = `
Exit status:
  0   the final response's status is below 400
  1   the request failed without a response (connection refused, timeout...)
  2   invalid flags or arguments
  4   the final response's status is 4xx
  5   the final response's status is 5xx
  130 or 143: interrupted by SIGINT or SIGTERM

Examples:
  retry http -v https://example.com/
  retry http -X POST -H 'Idempotency-Key: 42' -d @order.json https://api.example.com/orders
`
