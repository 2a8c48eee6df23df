package main

import (
	"fmt"
	"regexp"
	"strings"
)

// Member is one measured contender of a Group: a benchmark of the group's
// module, run in a process of its own.
type Member struct {
	// Label names the member in the tables ("retrykit", "direct").
	Label string
	// Bench is the benchmark's name without "Benchmark", sub-benchmarks
	// separated by '/', spaces written as go test prints them ('_'):
	// "Retry3/lib=retrykit".
	Bench string
	// Benchtime overrides the run's -benchtime when set (an iteration
	// count such as "1000x" for a benchmark that cannot run long).
	Benchtime string
}

// Target is a goal one comparison of a View must meet.
type Target struct {
	// Ref is the reference member's label.
	Ref string
	// MaxRatio is the largest subject ÷ Ref allowed, on the median of the
	// worse run.
	MaxRatio float64
}

// View is one comparison table over a group's measurements: Subject
// against each of Refs, by the paired ratio subject ÷ ref.
type View struct {
	Title   string
	Subject string
	Refs    []string
	// Targets are the ratios Subject must stay under; ZeroAllocs asks
	// that Subject allocate nothing.
	Targets    []Target
	ZeroAllocs bool
}

// Group is a set of benchmarks measured together in each round (in a
// random order within the round) and the views that compare them. Module is
// the directory of the Go module holding the benchmarks, relative to the
// repository's root. Parallel marks benchmarks that run on every CPU at
// once (b.RunParallel): they measure contention only on a quiet machine.
type Group struct {
	Name     string
	Module   string
	Title    string
	Note     string
	Parallel bool
	Members  []Member
	Views    []View
}

// Member returns the member labelled label.
func (g Group) Member(label string) (Member, bool) {
	for _, m := range g.Members {
		if m.Label == label {
			return m, true
		}
	}
	return Member{}, false
}

// Validate reports a group whose views name members it does not measure,
// or whose members repeat a label.
func (g Group) Validate() error {
	seen := map[string]bool{}
	for _, m := range g.Members {
		if seen[m.Label] {
			return fmt.Errorf("group %s: member %q twice", g.Name, m.Label)
		}
		seen[m.Label] = true
	}
	for _, v := range g.Views {
		for _, l := range append([]string{v.Subject}, v.Refs...) {
			if !seen[l] {
				return fmt.Errorf("group %s, view %q: no member %q", g.Name, v.Title, l)
			}
		}
		for _, t := range v.Targets {
			if !seen[t.Ref] {
				return fmt.Errorf("group %s, view %q: target of unknown member %q", g.Name, v.Title, t.Ref)
			}
		}
	}
	return nil
}

// BenchRegexp returns the -test.bench pattern that runs only the
// benchmark named bench ("Retry3/lib=retrykit"): each level anchored and
// quoted.
func BenchRegexp(bench string) string {
	parts := strings.Split(bench, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	parts[0] = "^Benchmark" + strings.TrimPrefix(parts[0], "^")
	return strings.Join(parts, "/")
}

// libs returns one member per library of the comparison module's
// benchmark workload, whose sub-benchmarks are named lib=<label>.
func libs(workload string, labels ...string) []Member {
	ms := make([]Member, len(labels))
	for i, l := range labels {
		ms[i] = Member{Label: l, Bench: workload + "/lib=" + l}
	}
	return ms
}

// Select returns the groups whose name filter matches, ignoring case
// (FILTER=hedge selects HedgeFirstWins and HedgeOnce), in order, or an
// error when the filter is not a regular expression, matches none, or a
// group is invalid.
func Select(groups []Group, filter string) ([]Group, error) {
	re, err := regexp.Compile("(?i)" + filter)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	var out []Group
	for _, g := range groups {
		if err := g.Validate(); err != nil {
			return nil, err
		}
		if re.MatchString(g.Name) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("filter %q matches no comparison; there are: %s", filter, groupNames(groups))
	}
	return out, nil
}

func groupNames(groups []Group) string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return strings.Join(names, ", ")
}
