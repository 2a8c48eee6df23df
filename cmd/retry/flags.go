package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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

// defaultKillAfter is how long a child that outlived -attempt-timeout gets
// between SIGTERM and SIGKILL.
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
	dryRun      bool
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

// subcommands are the words that select a mode other than running a
// command.
var subcommands = []string{"http", "sim"}

// subcommandFirst moves a subcommand (http or sim) to the front when flags
// come before it (retry -v http URL means retry http -v URL), and returns
// args otherwise unchanged; moved says it did. After --, http and sim are
// a command's name: retry -v -- http runs a program named http.
func subcommandFirst(args []string) (_ []string, moved bool) {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, isHTTP := range []bool{false, true} { // every flag of either mode
		newFlagSet(defaultConfig(isHTTP)).VisitAll(func(f *flag.Flag) {
			if fs.Lookup(f.Name) == nil {
				fs.Var(f.Value, f.Name, f.Usage)
			}
		})
	}
	if fs.Parse(args) != nil {
		return args, false // parseArgs reports the error
	}
	rest := fs.Args()
	flags := args[:len(args)-len(rest)]
	if len(flags) == 0 || len(rest) == 0 || !slices.Contains(subcommands, rest[0]) || flags[len(flags)-1] == "--" {
		return args, false
	}
	return slices.Concat(rest[:1], flags, rest[1:]), true
}

// isHTTPArgs reports whether args, as subcommandFirst left them, are for
// retry http.
func isHTTPArgs(args []string) bool { return len(args) > 0 && args[0] == "http" }

// parseArgs parses the arguments after the program name. It never prints:
// the caller reports errors and help.
func parseArgs(args []string) (*config, error) {
	args, moved := subcommandFirst(args)
	isHTTP := isHTTPArgs(args)
	if isHTTP {
		args = args[1:]
	}
	c := defaultConfig(isHTTP)
	fs := newFlagSet(c)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		err = &usageError{msg: otherModeFlag(err, isHTTP)}
	}
	if err == nil {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		err = c.check(set)
	}
	if err == nil {
		err = c.positional(fs.Args())
	}
	if err != nil {
		var ue *usageError
		if moved && isHTTP && errors.As(err, &ue) {
			ue.msg += "\nTo run a program named http: retry [flags] -- http ..."
		}
		return nil, err
	}
	return c, nil
}

// otherModeFlag returns the message of a flag parsing error, which says
// which mode a flag belongs to when it is a flag of the other one.
func otherModeFlag(err error, isHTTP bool) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok || newFlagSet(defaultConfig(!isHTTP)).Lookup(name) == nil {
		return err.Error()
	}
	if isHTTP {
		return fmt.Sprintf("-%s applies only to command mode, not to retry http", name)
	}
	return fmt.Sprintf("-%s applies only to retry http", name)
}

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
	fs.Var(jitterValue{&c.jitter}, "jitter", "how waits are randomised (`mode`): none, full, equal, decorrelated, or proportional:F with F in [0,1]")
	fs.Var(durationValue{&c.maxElapsed}, "max-elapsed", "stop retrying once the next wait would end this long (a `duration`) after the start; 0 means no limit")
	fs.Var(durationValue{&c.attemptTimeout}, "attempt-timeout", attemptTimeoutUsage(c.http))
	fs.BoolVar(&c.verbose, "v", false, "log each retry (attempt, error, wait chosen) and the outcome to standard error")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the waits the policy would choose, then exit without running anything")
	if c.http {
		fs.Var(methodValue{&c.method}, "X", "HTTP `method`")
		fs.StringVar(&c.data, "d", "", "request body: the `data` itself, or @file to send a file's contents")
		fs.Var(headerValue{c.headers}, "H", "request `header` \"Name: value\"; repeatable")
		fs.Var(statusListValue{&c.statuses}, "status", "comma-separated HTTP `statuses` to retry, replacing the default set (408, 429, and 5xx except 501)")
		fs.BoolVar(&c.idempotent, "idempotent", false, "retry a POST or PATCH even without an Idempotency-Key header: declare that repeating it is safe")
		return fs
	}
	fs.Var(durationValue{&c.killAfter}, "kill-after", "send SIGKILL to an attempt still running this long (a `duration`) after -attempt-timeout sent SIGTERM")
	fs.Var(exitListValue{&c.retryOn}, "retry-on", "comma-separated exit `statuses` to retry; any other failure stops at once")
	fs.Var(exitListValue{&c.stopOn}, "stop-on", "comma-separated exit `statuses` that stop at once; any other failure is retried")
	fs.Var(choiceValue{&c.stdin, stdinModes}, "stdin", "which attempts read a piped or redirected standard input (a `mode`): every (the first attempt reads it as it comes while retry keeps a copy, in memory up to 1 MiB and in a temporary file beyond, and each later attempt reads all of it from the start; a redirected file is given itself to each attempt), first (the first attempt reads it as is, later ones read nothing), none (no attempt reads it)")
	fs.Var(sizeValue{&c.stdinLimit}, "stdin-limit", "with -stdin every, the most of a piped standard input (a `size` in bytes, or with a suffix K, M, G or T for KiB, MiB, GiB or TiB) that retry keeps to replay it; a retry after a longer input fails with status 125; 0 means no limit")
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

// check rejects combinations that cannot mean what the user wants.
func (c *config) check(set map[string]bool) error {
	if set["step"] && c.backoff != backoffLinear {
		return usagef("-step applies only to -backoff linear (the backoff is %s)", c.backoff)
	}
	if set["multiplier"] && c.backoff != backoffExponential {
		return usagef("-multiplier applies only to -backoff exponential (the backoff is %s)", c.backoff)
	}
	if !set["step"] {
		c.step = c.delay
	}
	if len(c.retryOn) > 0 && len(c.stopOn) > 0 {
		return usagef("-retry-on and -stop-on cannot be combined: -retry-on already stops on every status it does not list")
	}
	if c.stdinReplay && c.stdin != stdinEvery {
		return usagef("-stdin-replay means -stdin every and cannot be combined with -stdin %s", c.stdin)
	}
	if set["stdin-limit"] && c.stdin != stdinEvery {
		return usagef("-stdin-limit applies only to -stdin every (it is %s)", c.stdin)
	}
	if set["kill-after"] && c.attemptTimeout == 0 {
		return usagef("-kill-after applies only with -attempt-timeout")
	}
	return nil
}

// positional takes the command or the URL.
func (c *config) positional(rest []string) error {
	if c.http {
		switch {
		case len(rest) == 0 && c.dryRun:
			return nil
		case len(rest) == 0:
			return usagef("retry http needs a URL")
		case len(rest) > 1:
			return usagef("retry http takes one URL, got %d arguments: %q (flags go before the URL)", len(rest), rest)
		}
		if err := checkURL(rest[0]); err != nil {
			return err
		}
		c.url = rest[0]
		return nil
	}
	if len(rest) == 0 && !c.dryRun {
		return usagef("no command given")
	}
	if len(rest) > 0 && rest[0] == "" {
		return usagef("the command name is empty")
	}
	c.command = rest
	return nil
}

// checkURL rejects a URL that no attempt could send: the transport would
// fail it the same way every time.
func checkURL(raw string) error {
	if !strings.Contains(raw, "://") {
		return usagef("URL %q needs the scheme http:// or https://, such as http://example.com", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return usagef("invalid URL %q: %v", raw, err)
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return usagef("URL %q has the scheme %q: want http or https", raw, u.Scheme)
	}
	if u.Host == "" {
		return usagef("URL %q has no host", raw)
	}
	return nil
}

// countValue is a flag.Value for a non-negative count.
type countValue struct{ p *int }

func (v countValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("want a whole number >= 0, such as 5 (0 means no limit)")
	}
	*v.p = n
	return nil
}

// durationValue is a flag.Value for a non-negative Go duration.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return "0s" // so that flag's help omits zero defaults
	}
	return v.p.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// parseDuration reads a non-negative Go duration such as 250ms or 1m30s; a
// bare 0 is accepted.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration >= 0 in Go syntax, such as 250ms, 2s or 1m30s")
	}
	return d, nil
}

// sizeValue is a flag.Value for a non-negative number of bytes, with an
// optional binary suffix: 512K, 64M, 1G (or KiB, MiB, GiB, TiB).
type sizeValue struct{ p *int64 }

func (v sizeValue) String() string {
	if v.p == nil {
		return "0"
	}
	return formatSize(*v.p)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

// sizeUnits are the suffixes parseSize accepts, largest first.
var sizeUnits = []struct {
	suffix string
	size   int64
}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}

// parseSize reads a size such as 1048576, 512K, 64MiB or 1G (binary units).
func parseSize(s string) (int64, error) {
	bad := errors.New("want a size in bytes >= 0, such as 1048576, 512K, 64M or 1G (K, M, G, T: KiB, MiB, GiB, TiB)")
	digits, unit := s, int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(strings.TrimSuffix(s, "iB"), u.suffix); ok {
			digits, unit = rest, u.size
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' || n > math.MaxInt64/unit {
		return 0, bad
	}
	return n * unit, nil
}

// formatSize writes n in the largest binary unit that divides it: 1G,
// 512K, 1000.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// multiplierValue is a flag.Value for a finite factor >= 1.
type multiplierValue struct{ p *float64 }

func (v multiplierValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v multiplierValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 1 {
		return errors.New("want a finite number >= 1, such as 1.5 or 2")
	}
	*v.p = f
	return nil
}

// choiceValue is a flag.Value for one of a fixed set of words.
type choiceValue struct {
	p       *string
	choices []string
}

func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(v.choices, ", "))
	}
	*v.p = s
	return nil
}

// jitterValue is a flag.Value for a jitter mode, in the syntax of
// retry.Jitter's String method.
type jitterValue struct{ p *retry.Jitter }

func (v jitterValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v jitterValue) Set(s string) error {
	j, err := parseJitter(s)
	if err != nil {
		return err
	}
	*v.p = j
	return nil
}

// parseJitter reads none, full, equal, decorrelated or proportional:F.
func parseJitter(s string) (retry.Jitter, error) {
	switch s {
	case "none":
		return retry.NoJitter, nil
	case "full":
		return retry.FullJitter, nil
	case "equal":
		return retry.EqualJitter, nil
	case "decorrelated":
		return retry.DecorrelatedJitter, nil
	}
	if f, ok := strings.CutPrefix(s, "proportional:"); ok {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || !(x >= 0 && x <= 1) {
			return retry.Jitter{}, fmt.Errorf("proportional:F needs a fraction F from 0 to 1, such as proportional:0.2, got %q", f)
		}
		return retry.ProportionalJitter(x), nil
	}
	return retry.Jitter{}, errors.New("want none, full, equal, decorrelated, or proportional:F with F from 0 to 1")
}

// exitListValue is a flag.Value for comma-separated exit statuses 1 to 255;
// repeating the flag adds to the list.
type exitListValue struct{ p *[]int }

func (v exitListValue) String() string {
	if v.p == nil {
		return ""
	}
	return joinInts(*v.p)
}

func (v exitListValue) Set(s string) error {
	codes, err := parseIntList(s, 1, 255)
	if err != nil {
		return fmt.Errorf("want comma-separated exit statuses from 1 to 255, such as 1,75: %w", err)
	}
	*v.p = append(*v.p, codes...)
	return nil
}

// statusListValue is a flag.Value for comma-separated HTTP statuses 100 to
// 599; repeating the flag adds to the list.
type statusListValue struct{ p *[]int }

func (v statusListValue) String() string {
	if v.p == nil {
		return ""
	}
	return joinInts(*v.p)
}

func (v statusListValue) Set(s string) error {
	codes, err := parseIntList(s, 100, 599)
	if err != nil {
		return fmt.Errorf("want comma-separated HTTP statuses from 100 to 599, such as 502,503: %w", err)
	}
	*v.p = append(*v.p, codes...)
	return nil
}

// parseIntList reads a comma-separated list of integers in [lo, hi]; spaces
// around items are allowed, empty items are not.
func parseIntList(s string, lo, hi int) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.Atoi(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", item)
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("%d is out of range", n)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// methodValue is a flag.Value for an HTTP method token, upper-cased.
type methodValue struct{ p *string }

func (v methodValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v methodValue) Set(s string) error {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !isTokenChar(r) }) {
		return errors.New("want an HTTP method such as GET, POST, PUT or DELETE")
	}
	*v.p = strings.ToUpper(s)
	return nil
}

// headerValue is a flag.Value that adds "Name: value" headers.
type headerValue struct{ h http.Header }

func (v headerValue) String() string {
	if v.h == nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v.h)) {
		for _, val := range v.h[k] {
			parts = append(parts, k+": "+val)
		}
	}
	return strings.Join(parts, "; ")
}

func (v headerValue) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool { return !isTokenChar(r) }) {
		return errors.New(`want "Name: value", such as "Accept: application/json"`)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return errors.New("a header value cannot contain CR, LF or NUL")
	}
	v.h.Add(name, value)
	return nil
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110).
func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
