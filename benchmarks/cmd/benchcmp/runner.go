package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Runner runs the members of some groups, each in a process of its own.
type Runner struct {
	// Repo is the repository's root directory.
	Repo string
	// Bins maps a module directory to its test binary (see Build).
	Bins map[string]string
	// Benchtime is -test.benchtime of every member that sets none.
	Benchtime string
	// Log receives one progress line per process.
	Log io.Writer
}

// Build compiles the test binary of every module the groups use, once,
// into dir, and records them in r.Bins.
func (r *Runner) Build(ctx context.Context, groups []Group, dir string) error {
	r.Bins = map[string]string{}
	for _, g := range groups {
		if _, done := r.Bins[g.Module]; done {
			continue
		}
		bin := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "root").Replace(g.Module)+".test")
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
		cmd.Dir = filepath.Join(r.Repo, g.Module)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go test -c in %s: %w\n%s", g.Module, err, out)
		}
		fmt.Fprintf(r.Log, "built %s\n", g.Module)
		r.Bins[g.Module] = bin
	}
	return nil
}

// Measure runs member m of g once, in a new process of its module's test
// binary, and returns its result.
func (r *Runner) Measure(ctx context.Context, g Group, m Member) (Result, error) {
	benchtime := r.Benchtime
	if m.Benchtime != "" {
		benchtime = m.Benchtime
	}
	cmd := exec.CommandContext(ctx, r.Bins[g.Module],
		"-test.run=^$", "-test.bench="+BenchRegexp(m.Bench), "-test.benchmem",
		"-test.benchtime="+benchtime, "-test.count=1")
	cmd.Dir = filepath.Join(r.Repo, g.Module)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("%s %s: %w\n%s", g.Name, m.Label, err, out)
	}
	return findResult(string(out), m.Bench)
}

// findResult returns the one result line of out whose name is bench.
func findResult(out, bench string) (Result, error) {
	var found []Result
	for line := range strings.Lines(out) {
		res, ok, err := ParseLine(line)
		if err != nil {
			return Result{}, err
		}
		if ok && res.Name == bench {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		return Result{}, fmt.Errorf("benchmark %s: %d result lines, want 1 (is it still called so?)\n%s", bench, len(found), out)
	}
	return found[0], nil
}

// Order returns the order of one round: the groups shuffled, and within
// each group its members shuffled, so that no library always runs first,
// last, or after the same neighbour.
func Order(rng *rand.Rand, groups []Group) []Group {
	out := make([]Group, len(groups))
	for i, j := range rng.Perm(len(groups)) {
		g := groups[j]
		members := make([]Member, len(g.Members))
		for k, l := range rng.Perm(len(g.Members)) {
			members[k] = g.Members[l]
		}
		g.Members = members
		out[i] = g
	}
	return out
}

// RunRounds measures every member of groups once per round, in a random
// order per round drawn from rng, and writes each result to w, after the
// run's "run:" line. run names the run in the progress lines.
func (r *Runner) RunRounds(ctx context.Context, run string, rounds int, groups []Group, rng *rand.Rand, w *rawWriter) error {
	for round := 1; round <= rounds; round++ {
		for _, g := range Order(rng, groups) {
			for _, m := range g.Members {
				res, err := r.Measure(ctx, g, m)
				if err != nil {
					return err
				}
				w.Config("round", strconv.Itoa(round))
				w.Config("group", g.Name)
				w.Config("member", m.Label)
				w.Result(res)
				if err := w.Err(); err != nil {
					return err
				}
				fmt.Fprintf(r.Log, "%s %d/%d  %-16s %-34s %s\n", run, round, rounds, g.Name, m.Label,
					duration(res.Metrics["ns/op"]))
			}
		}
	}
	return nil
}
