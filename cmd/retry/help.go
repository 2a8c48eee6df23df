package main

import (
	"fmt"
	"io"
	"strings"
)

const (
	commandSynopsis = "usage: retry [flags] [--] COMMAND [ARGS...]"
	httpSynopsis    = "usage: retry http [flags] URL"
	helpSynopsis    = "usage: retry help [http | sim]"
)

// printUsageError reports a command-line error; exit status 2 follows.
func printUsageError(w io.Writer, err *usageError, isHTTP bool) {
	synopsis, help := commandSynopsis, "retry -h"
	if isHTTP {
		synopsis, help = httpSynopsis, "retry http -h"
	}
	fmt.Fprintf(w, "retry: %v\n%s\nRun '%s' for the flags and their defaults.\n", err, synopsis, help)
}

// runHelp is retry help [http | sim]: the help of command mode, or of the
// mode named. Flags given before the word help are ignored.
func runHelp(args []string, stdout, stderr io.Writer) int {
	var topics []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			topics = append(topics, a)
		}
	}
	switch {
	case len(topics) == 0:
		printHelp(stdout, false)
	case len(topics) == 1 && topics[0] == "http":
		printHelp(stdout, true)
	case len(topics) == 1 && topics[0] == "sim":
		printSimHelp(stdout)
	default:
		fmt.Fprintf(stderr, "retry help: no help on %q: the topics are http and sim\n%s\n", strings.Join(topics, " "), helpSynopsis)
		return exitUsage
	}
	return 0
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
