package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses of retry itself; otherwise it exits with the command's status.
const (
	exitUsage         = 2   // invalid flags or arguments
	exitFailure       = 125 // retry itself failed (for example reading standard input)
	exitCannotExecute = 126 // the command was found but could not be started
	exitNotFound      = 127 // the command was not found
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program: it parses args, runs the command or the HTTP
// request under the policy, and returns the exit status. SIGHUP, SIGINT,
// SIGQUIT and SIGTERM are handled while it runs; ctx bounds the whole run.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	first, _ := subcommandFirst(args)
	if len(first) > 0 && first[0] == "sim" {
		return runSim(first[1:], stdout, stderr)
	}
	if len(first) > 0 && first[0] == "help" {
		return runHelp(first[1:], stdout, stderr)
	}
	c, err := parseArgs(args)
	isHTTP := isHTTPArgs(first)
	if errors.Is(err, errHelp) {
		printHelp(stdout, isHTTP)
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		printUsageError(stderr, ue, isHTTP)
		return exitUsage
	}
	if c.version {
		printVersion(stdout)
		return 0
	}
	p, err := c.policy()
	if err != nil {
		fmt.Fprintf(stderr, "retry: %v\n", err)
		return exitUsage
	}
	if c.dryRun {
		printSchedule(stdout, c, p)
		return 0
	}
	if c.http {
		return runHTTP(ctx, c, p, stdout, stderr)
	}
	return runCommand(ctx, c, p, stdin, stdout, stderr)
}
