// Command retry runs a command, or sends an HTTP request, until it
// succeeds or the retry policy gives up, with the backoff, jitter and limits
// of the github.com/retrykit/retry library. It is meant for shell scripts
// and CI jobs whose steps sometimes fail for no lasting reason.
//
// Usage:
//
//	retry [flags] [--] COMMAND [ARGS...]
//	retry http [flags] URL
//	retry sim [flags]
//	retry help [http | sim]
//
// For example:
//
//	go run ./cmd/retry -v -attempts 5 -- sh -c 'test $(( $$ % 3 )) -eq 0'
//	retry -backoff constant -delay 2s -attempts 0 -max-elapsed 5m -- ./healthcheck
//	retry -attempt-timeout 30s -- ./integration-test
//	retry -dry-run -attempts 6 -jitter none
//	retry http -v -status 502,503 https://example.com/
//
// The flags map onto the library's options, with its defaults: -attempts
// (4; 0 means no limit), -backoff (constant, linear, exponential or
// fibonacci; exponential), -delay (100ms), -step (linear), -multiplier
// (exponential; 2), -max-delay (30s), -jitter (none, full, equal,
// decorrelated or proportional:F; full, except that -backoff constant
// means no jitter unless -jitter is given), -max-elapsed and
// -attempt-timeout (no limit). Durations use Go syntax: 250ms, 2s, 1m30s.
// -retry-on and -stop-on take comma-separated exit statuses; -v logs each
// retry to standard error; -dry-run prints the waits the policy would
// choose and exits; -version prints the module version and VCS revision.
// Run 'retry -h' (or 'retry help'), 'retry help http' or 'retry help sim'
// for the complete list.
//
// retry sim runs the simulator of package github.com/retrykit/retry/sim: a
// fleet of clients retrying with the policy the flags describe against a
// dependency that fails, in virtual time. Run 'retry sim -h' for its
// scenarios and flags.
//
// Flags may also come before the word http, sim or help: retry -v http URL
// is retry http -v URL, and retry -attempts 3 sim is retry sim -attempts 3.
// To run a program with one of these names, put -- before it: retry -v --
// http ARGS....
//
// # Command mode
//
// The command runs directly (not through a shell) with retry's standard
// output and standard error. retry exits 0 when an attempt succeeds;
// otherwise with the last attempt's exit status, 128+N when it was killed
// by signal N, as shells report it. A command that cannot be started is
// not retried: retry exits 127 when it does not exist and 126 when it
// cannot be executed, as shells do. Invalid flags exit 2; 125 means retry
// itself failed before any attempt ran.
//
// When it gives up, retry says so in one line on standard error (without
// -v, which logs it, and unless -q): the attempts made, why it stopped, and
// how the last attempt ended, such as "retry: giving up after 4 attempts
// (-attempts 4 reached): exit status 1". A command's own 2, 125, 126 or 127
// is told from retry's by that line: retry's own statuses come with a line
// that says what failed ("retry: cannot run ...").
//
// Each attempt runs in a process group of its own. -attempt-timeout ends
// an attempt that runs too long with SIGTERM to the whole group, then
// SIGKILL to what is left of it after -kill-after (10s), and retries it,
// whatever -retry-on and -stop-on say. SIGHUP, SIGINT, SIGQUIT and SIGTERM
// stop the retrying: during an attempt they are passed on to its group,
// retry waits for the group to end (SIGKILL after -kill-after) and exits
// with the command's status; a wait between attempts ends at once, and
// retry exits with 128+N. SIGHUP or SIGINT ignored when retry started
// (nohup's SIGHUP) stays ignored; an ignored SIGTERM or SIGQUIT is caught
// anyway (Go's runtime keeps only those two ignored). Ctrl-Z (SIGTSTP) suspends retry and the attempt's
// group together; SIGCONT (fg, bg) resumes both. -foreground keeps the
// command in retry's process group, as GNU timeout --foreground does, for a
// command that reads the terminal; a timeout or a signal then reaches the
// command alone. On Linux
// the command gets SIGKILL when retry is killed with SIGKILL (the
// parent-death signal); the processes it started survive.
//
// Standard input reaches every attempt whole: a terminal (or /dev/null) is
// passed to every attempt as is, and a redirected file is given itself to
// every attempt, from its start. A pipe is read by the first attempt as it
// comes, while retry keeps a copy (in memory up to 1 MiB, beyond that in a
// temporary file unlinked as soon as it is created, so that nothing is left
// behind even if retry is killed); a later attempt first has retry read the
// rest of the input, then reads all of it from the start. The copy stops at
// -stdin-limit (64 MiB; 0 means no limit): after a longer input, retry
// gives up with the last attempt's status and says why. -stdin first gives
// the input as is to the first attempt only, later attempts reading an
// empty input; -stdin none gives it to no attempt. (-stdin-replay is the
// older spelling of the default, -stdin every.)
//
// # HTTP mode
//
// retry http sends a GET (or -X METHOD, with a body from -d DATA or
// -d @file, and -H headers) through the httpx package, which retries
// connection errors, attempt timeouts, 408, 429 and 5xx except 501 (-status
// replaces that set) and honours Retry-After. POST and PATCH are retried
// only with an Idempotency-Key header or -idempotent. The final response's
// body goes to standard output; retry exits 0 for a status below 400, 4
// for 4xx, 5 for 5xx, and 1 when no response came, with the give-up line
// for any of these failures. -attempts counts attempts: net/http itself
// sends a GET again when a reused connection fails, so the server can see
// more requests than attempts; -v says when an attempt was sent more than
// once, and its last line counts every send of the call (sends=N).
package main
