package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/retrykit/retry"
)

// Backoff kinds accepted by -backoff.
const (
	backoffConstant    = "constant"
	backoffLinear      = "linear"
	backoffExponential = "exponential"
	backoffFibonacci   = "fibonacci"
)

var backoffKinds = []string{backoffConstant, backoffLinear, backoffExponential, backoffFibonacci}

// defaultKillAfter is how long an attempt that retry ends (for
// -attempt-timeout, or a signal to retry) gets between the first signal and
// SIGKILL: the time docker stop and Kubernetes give by default, long
// enough for a program to clean up, short enough for a person at Ctrl-C.
const defaultKillAfter = 10 * time.Second

// config is the parsed command line.
type config struct {
	http bool // the "http" subcommand

	attempts       int
	backoff        string
	delay          time.Duration
	step           time.Duration // linear only; defaults to delay
	multiplier     float64       // exponential only
	maxDelay       time.Duration
	jitter         retry.Jitter
	maxElapsed     time.Duration
	attemptTimeout time.Duration
	killAfter      time.Duration

	retryOn []int // exit statuses to retry; empty means every failure
	stopOn  []int // exit statuses that stop at once

	verbose     bool
	quiet       bool // -q: no give-up line
	dryRun      bool
	version     bool   // -version: print the build's version and exit
	foreground  bool   // -foreground: the command stays in retry's process group
	stdin       string // -stdin: stdinEvery, stdinFirst or stdinNone
	stdinReplay bool   // -stdin-replay: the older spelling of -stdin every
	stdinLimit  int64  // -stdin-limit: the most bytes of a piped input kept to replay; 0 means no limit

	command []string // command mode: the command and its arguments

	// http mode
	url        string
	method     string
	data       string // -d as given: literal data, or @file
	headers    http.Header
	statuses   []int // -status; nil means httpx's default classification
	idempotent bool
}

// usageError is a command-line error: run prints it with a pointer to -h
// and exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp reports that -h or -help was given; run prints the help and
// exits 0.
var errHelp = flag.ErrHelp

// defaultConfig returns the configuration before any flag: the library's
// defaults.
func defaultConfig(isHTTP bool) *config {
	return &config{
		http:       isHTTP,
		attempts:   retry.DefaultMaxAttempts,
		backoff:    backoffExponential,
		delay:      retry.DefaultInitial,
		multiplier: retry.DefaultMultiplier,
		maxDelay:   retry.DefaultMaxDelay,
		jitter:     retry.FullJitter,
		killAfter:  defaultKillAfter,
		stdin:      stdinEvery,
		stdinLimit: defaultStdinLimit,
		method:     http.MethodGet,
		headers:    http.Header{},
	}
}

// newFlagSet declares the flags of c's mode, bound to c's fields.
func newFlagSet(c *config) *flag.FlagSet {
	name := "retry"
	if c.http {
		name = "retry http"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseArgs returns errors; run prints them
	fs.Usage = func() {}

	fs.Var(countValue{&c.attempts}, "attempts", attemptsUsage(c.http))
	fs.Var(choiceValue{&c.backoff, backoffKinds}, "backoff", "backoff `kind`: "+strings.Join(backoffKinds, ", "))
	fs.Var(durationValue{&c.delay}, "delay", "initial wait (a `duration`): the first wait of exponential and linear, every wait of constant, the unit of fibonacci")
	fs.Var(durationValue{&c.step}, "step", "for -backoff linear: the wait grows by this `duration` per retry (default: the -delay value)")
	fs.Var(multiplierValue{&c.multiplier}, "multiplier", "for -backoff exponential: each wait is this `factor` times the previous one, >= 1")
	fs.Var(durationValue{&c.maxDelay}, "max-delay", "cap (a `duration`) on every wait; 0 means no cap")
	fs.Var(jitterValue{&c.jitter}, "jitter", "how waits are randomised (`mode`): none, full, equal, decorrelated, or proportional:F with F in [0,1]; -backoff constant makes none the default, so that every wait is -delay")
	fs.Var(durationValue{&c.maxElapsed}, "max-elapsed", "stop retrying once the next wait would end this long (a `duration`) after the start; 0 means no limit")
	fs.Var(durationValue{&c.attemptTimeout}, "attempt-timeout", attemptTimeoutUsage(c.http))
	fs.BoolVar(&c.verbose, "v", false, "log each retry (attempt, error, wait chosen) and the outcome to standard error")
	fs.BoolVar(&c.quiet, "q", false, "quiet: no line on standard error when retry gives up (its own errors are still reported)")
	fs.BoolVar(&c.version, "version", false, "print retry's version (module version and VCS revision) and exit")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the waits the policy would choose, then exit without running anything")
	if c.http {
		fs.Var(methodValue{&c.method}, "X", "HTTP `method`")
		fs.StringVar(&c.data, "d", "", "request body: the `data` itself, or @file to send a file's contents")
		fs.Var(headerValue{c.headers}, "H", "request `header` \"Name: value\"; repeatable")
		fs.Var(statusListValue{&c.statuses}, "status", "comma-separated HTTP `statuses` to retry, replacing the default set (408, 429, and 5xx except 501)")
		fs.BoolVar(&c.idempotent, "idempotent", false, "retry a POST or PATCH even without an Idempotency-Key header: declare that repeating it is safe")
		return fs
	}
	fs.Var(durationValue{&c.killAfter}, "kill-after", "when retry ends an attempt (-attempt-timeout sent SIGTERM, or a signal to retry was passed on), send SIGKILL to what is left of it this long (a `duration`) after; 0 sends SIGKILL at once")
	fs.BoolVar(&c.foreground, "foreground", false, "run the command in retry's process group, as GNU timeout --foreground does, so that it can read the terminal and gets Ctrl-C and Ctrl-Z from it; what it gives up: a timeout or a signal to retry then reaches the command alone, and processes it started may outlive the attempt and retry")
	fs.Var(exitListValue{&c.retryOn}, "retry-on", "comma-separated exit `statuses` to retry; any other failure stops at once")
	fs.Var(exitListValue{&c.stopOn}, "stop-on", "comma-separated exit `statuses` that stop at once; any other failure is retried")
	fs.Var(choiceValue{&c.stdin, stdinModes}, "stdin", "which attempts read a piped or redirected standard input (a `mode`): every (the first attempt reads it as it comes while retry keeps a copy, in memory up to 1 MiB and in a temporary file beyond, and each later attempt reads all of it from the start; a redirected file is given itself to each attempt), first (the first attempt reads it as is, later ones read nothing), none (no attempt reads it)")
	fs.Var(sizeValue{&c.stdinLimit}, "stdin-limit", "with -stdin every, the most of a piped standard input (a `size` in bytes, or with a suffix K, M, G or T for KiB, MiB, GiB or TiB) that retry keeps to replay it; after a longer input retry gives up with the last attempt's status and says why; 0 means no limit")
	fs.BoolVar(&c.stdinReplay, "stdin-replay", false, "the older spelling of -stdin every, the default")
	return fs
}

func attemptsUsage(isHTTP bool) string {
	const usage = "total `number` of attempts, the first included; 0 means no limit"
	if isHTTP {
		// See "Attempts and sends" in the httpx documentation.
		return usage + ". net/http itself sends a GET (or a request with an Idempotency-Key) again when a reused connection fails, so the server can see more requests than attempts; -v says when it happened"
	}
	return usage
}

func attemptTimeoutUsage(isHTTP bool) string {
	if isHTTP {
		return "give up on an attempt after this long (a `duration`) and retry it; 0 means no limit"
	}
	return "send SIGTERM to an attempt still running after this long (a `duration`), and retry it; 0 means no limit"
}
