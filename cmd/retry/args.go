package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/retrykit/retry"
)

// subcommands are the words that select a mode other than running a
// command.
var subcommands = []string{"http", "sim", "help"}

// subcommandFirst moves a subcommand (http, sim or help) to the front when flags
// come before it (retry -v http URL means retry http -v URL), and returns
// args otherwise unchanged; moved says it did. After --, these words are
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
	if err == nil && c.version {
		return c, nil // nothing else matters
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

// check rejects combinations that cannot mean what the user wants, and
// settles the defaults that depend on other flags (set holds the flags
// given).
func (c *config) check(set map[string]bool) error {
	if c.quiet && c.verbose {
		return usagef("-q and -v cannot be combined: -q silences the give-up line, -v logs every retry")
	}
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
	if c.backoff == backoffConstant && !set["jitter"] {
		c.jitter = retry.NoJitter // constant means constant; -jitter says otherwise
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
