// Command benchcmp measures retrykit against the libraries it is compared
// with, in a way that cannot flatter it, and prints the Markdown of the
// README's measured section.
//
// It builds the test binary of each module once (the repository's root,
// benchmarks, benchmarks/grpc), then, for each run (idle, and busy: with a
// process spinning on one CPU for the run's duration), measures every
// member of every comparison in a process of its own, round after round,
// in a new random order in each round. For each comparison it reports each
// library's median time and allocations, the ratio subject ÷ library paired
// within each round (median, smallest, largest), benchstat's p-value, and a
// verdict: "no difference" unless every round lies on the same side of 1
// and p < 0.05, quoting the worse of the runs. The machine (the CPU's model
// name from /proc/cpuinfo), the date and the load other processes put on
// it head the output. Raw results go to a file in the Go benchmark format
// (benchstat reads it), from which -report prints the Markdown again.
//
// benchmarks/run.sh runs the contract tests, then this command:
//
//	go run ./cmd/benchcmp -repo .. [-rounds 10] [-benchtime 1s] [-filter REGEXP]
//		[-seed N] [-load idle,busy] [-burners 1] [-readme ../README.md]
//	go run ./cmd/benchcmp -report results/FILE.txt [-readme ../README.md]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
)

func main() {
	if os.Getenv(spinEnv) != "" {
		spin(os.Stdin, os.Stdout)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	Options
	filter string
	report string
	readme string
}

// benchtimeRE is what go test accepts for -benchtime: a duration or an
// iteration count.
var benchtimeRE = regexp.MustCompile(`^([0-9]+x|[0-9.]+(ns|us|µs|ms|s|m|h))$`)

// parseFlags reads args into a config and checks it.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("benchcmp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Repo, "repo", "..", "the repository's root `directory`")
	fs.IntVar(&c.Rounds, "rounds", 10, "rounds of each run (`n` processes per member)")
	fs.StringVar(&c.Benchtime, "benchtime", "1s", "go test -benchtime of each process (`d` or Nx)")
	fs.StringVar(&c.filter, "filter", ".", "measure the comparisons whose name matches `regexp`")
	fs.Uint64Var(&c.Seed, "seed", 0, "random `seed` of the order (0: a random one, printed)")
	load := fs.String("load", "idle,busy", "the runs, in order: idle, busy (a CPU burner running)")
	fs.IntVar(&c.Burners, "burners", 1, "CPU burner processes of a busy run")
	fs.StringVar(&c.Out, "out", "results", "`directory` of the raw results file")
	fs.StringVar(&c.report, "report", "", "measure nothing: print the report of these comma-separated raw `files`")
	fs.StringVar(&c.readme, "readme", "", "also replace the generated section of this Markdown `file`")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.Rounds < 1:
		return c, fmt.Errorf("-rounds %d: want at least 1", c.Rounds)
	case !benchtimeRE.MatchString(c.Benchtime):
		return c, fmt.Errorf("-benchtime %q: want a duration (500ms) or an iteration count (1000x)", c.Benchtime)
	case c.Burners < 1:
		return c, fmt.Errorf("-burners %d: want at least 1", c.Burners)
	case c.readme != "" && c.filter != ".":
		return c, errors.New("-readme replaces the whole section: it needs every comparison, not -filter")
	}
	for _, l := range strings.Split(*load, ",") {
		if l != "idle" && l != "busy" {
			return c, fmt.Errorf("-load %q: each run is idle or busy", *load)
		}
		c.Loads = append(c.Loads, l)
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64() | 1
	}
	return c, nil
}

// run is the command: it measures (or reads -report), prints the
// Markdown to stdout, and replaces the -readme section.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	groups, err := Select(Comparisons, c.filter)
	if err != nil {
		return err
	}
	files := strings.Split(c.report, ",")
	if c.report == "" {
		path, err := Collect(ctx, c.Options, groups, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "raw results: %s (go run ./cmd/benchcmp -report %s prints this again)\n", path, path)
		files = []string{path}
	}
	var runs []*Run
	for _, p := range files {
		rs, err := readRawFile(p)
		if err != nil {
			return err
		}
		runs = append(runs, rs...)
	}
	md := Report{Groups: groups, Runs: runs}.Markdown()
	if _, err := io.WriteString(stdout, md); err != nil {
		return err
	}
	if c.readme == "" {
		return nil
	}
	doc, err := os.ReadFile(c.readme)
	if err != nil {
		return err
	}
	out, err := ReplaceSection(string(doc), md)
	if err != nil {
		return fmt.Errorf("%s: %w", c.readme, err)
	}
	return os.WriteFile(c.readme, []byte(out), 0o644)
}

// readRawFile reads the runs of the raw file at path.
func readRawFile(path string) ([]*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	runs, err := ReadRaw(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}
