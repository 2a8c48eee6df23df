package main

// The texts of retry -h and retry http -h around the list of flags. The
// package documentation (doc.go) says the same in prose.

const commandHelpHead = commandSynopsis + `
       retry http [flags] URL   (see 'retry help http')
       retry sim [flags]        (see 'retry help sim')
       retry help [http | sim]

Runs COMMAND until it exits with status 0 or the policy gives up, waiting
between attempts: by default up to 4 attempts, exponential backoff from 100ms
doubling each time, each wait capped at 30s and drawn at random below that
(full jitter; -backoff constant waits exactly -delay unless -jitter is
given). Durations use Go syntax: 250ms, 2s, 1m30s.
`

const commandHelpTail = `
A first argument http, sim or help (after any flags) selects that mode:
retry -v http URL is retry http -v URL; retry sim -attempts 3 -budget
none,grpc shows what the policy's retries do to a dependency that fails. To
run a program with one of these names, write retry [flags] -- NAME.

Giving up: retry then says so in one line on standard error, with the
attempts made, why it stopped and how the last attempt ended, and exits
with that attempt's status; -q leaves the line out, -v logs it instead:
  retry: giving up after 4 attempts (-attempts 4 reached): exit status 1

Exit status:
  0        the command succeeded
  N        otherwise the last attempt's status, 128+N for a command killed
           by signal N as in shells; also when a signal stopped retry during
           an attempt, which got the signal (see Signals)
  2        invalid flags or arguments
  125      retry itself failed before any attempt ran
  126      the command could not be started (not executable); not retried
  127      the command was not found; not retried
  128+N    signal N (SIGHUP, SIGINT, SIGQUIT or SIGTERM) arrived between
           attempts
A command may exit 2, 125, 126 or 127 itself. When the status is retry's
own, a line 'retry: ...' says what failed ('retry: cannot run "deploy":
executable file not found in $PATH'); when it is the command's, the give-up
line names it ('...: exit status 127'). With -q only retry's own statuses
come with a line.

Processes: each attempt runs in a process group of its own, which holds
the processes the command starts. When it runs past -attempt-timeout, the
whole group gets SIGTERM, then SIGKILL if anything of it is left after
-kill-after, and the attempt is retried, whatever -retry-on and -stop-on
say. Processes an attempt leaves running when it exits on its own (a
daemon it started) are left alone.

Signals: SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to retry, a Ctrl-C at the
terminal too, are passed on to the running attempt's group, then retry
stops retrying, waits for the group to end (SIGKILL after -kill-after) and
exits with the command's status; a wait between attempts ends at once.
SIGHUP or SIGINT ignored when retry started (nohup's SIGHUP) stays ignored;
an ignored SIGTERM or SIGQUIT is caught anyway. Ctrl-Z
suspends retry and the attempt together, and fg or bg resumes both. At a
terminal the command runs in the terminal's background: a command that
reads the terminal (a password prompt, ssh, an editor) is stopped by it
until Ctrl-C ends it. -foreground keeps the command in retry's process
group, as GNU timeout --foreground does: it can read the terminal and gets
Ctrl-C and Ctrl-Z itself, but a timeout or a signal to retry then reaches
the command alone, and processes it started may outlive the attempt and
retry.
SIGKILL cannot be caught: when retry is killed with it, on Linux the
command gets SIGKILL too (a parent-death signal), but processes the command
started survive, in its process group (kill -KILL -- -PID, with the
command's PID, ends them); elsewhere the command survives as well. Send
retry SIGTERM instead, or run it where its whole tree is stopped together
(a container, a systemd unit). As a container's PID 1, retry reaps the
processes an attempt leaves behind.

Standard input: a terminal (or /dev/null) is passed to every attempt. A
redirected file is given itself to every attempt, from the start. A pipe is
read by the first attempt as it comes while retry keeps a copy (in memory up
to 1 MiB, beyond that in a temporary file unlinked at once); a later attempt
first has retry read the rest of the input, then reads all of it from the
start. A longer input than -stdin-limit (64M) cannot be replayed: retry
then gives up with the last attempt's status and says why. -stdin first
gives the input as is to the first attempt only, and later attempts read an
empty input; -stdin none gives it to no attempt. With -attempts 1 no copy
is kept.

Examples:
  retry -v -attempts 5 -- sh -c 'test $(( $$ % 3 )) -eq 0'
  retry -backoff constant -delay 2s -attempts 0 -max-elapsed 5m -- curl -fsS https://example.com/health
  retry -stop-on 2,64 -- make deploy
  retry -attempt-timeout 30s -kill-after 5s -- ./flaky-integration-test
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
Giving up on a status of 400 or more, or without a response, retry says so
in one line on standard error (-q: not at all; -v logs it instead):
  retry: giving up after 1 attempt (Retry-After 2m0s exceeds -max-delay 30s): 503 Service Unavailable

Exit status:
  0      the final response's status is below 400
  1      the request failed without a response (connection refused, timeout...)
  2      invalid flags or arguments
  4      the final response's status is 4xx
  5      the final response's status is 5xx
  128+N  interrupted by signal N (SIGHUP, SIGINT, SIGQUIT or SIGTERM)

Examples:
  retry http -v https://example.com/
  retry http -X POST -H 'Idempotency-Key: 42' -d @order.json https://api.example.com/orders
`
