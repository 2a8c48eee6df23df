package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// A raw file keeps every measurement of an invocation in the Go benchmark
// format, so benchstat reads it too: configuration lines ("key: value")
// describe the results that follow them. The keys of this command:
//
//	run: idle                  the run the following lines belong to
//	round: 3                   the round of the following results
//	group: Retry3              the comparison
//	member: retrykit           the member, whose one result line follows
//
// Every other key ("cpu", "date", "load-start", ...) is metadata of the
// current run. A result before any run, round, group and member is an
// error, as is a member measured twice in a round.

// Sample is one process's measurement of one member.
type Sample struct {
	NsPerOp, AllocsPerOp float64
}

// Run is every measurement of one run (idle, or with the other CPU
// busy): Samples[group][member][round].
type Run struct {
	Name    string
	Meta    map[string]string
	Samples map[string]map[string]map[int]Sample
}

// Values returns the ns/op of member of group by round.
func (r *Run) Values(group, member string) map[int]float64 {
	out := map[int]float64{}
	for round, s := range r.Samples[group][member] {
		out[round] = s.NsPerOp
	}
	return out
}

// Allocs returns the median allocs/op of member of group.
func (r *Run) Allocs(group, member string) float64 {
	var xs []float64
	for _, s := range r.Samples[group][member] {
		xs = append(xs, s.AllocsPerOp)
	}
	return Median(xs)
}

func (r *Run) add(group, member string, round int, s Sample) error {
	g := r.Samples[group]
	if g == nil {
		g = map[string]map[int]Sample{}
		r.Samples[group] = g
	}
	m := g[member]
	if m == nil {
		m = map[int]Sample{}
		g[member] = m
	}
	if _, dup := m[round]; dup {
		return fmt.Errorf("run %s, round %d: %s/%s measured twice", r.Name, round, group, member)
	}
	m[round] = s
	return nil
}

// ReadRaw reads the runs of a raw file, in the order they first appear.
// Lines that are neither configuration nor results are ignored.
func ReadRaw(rd io.Reader) ([]*Run, error) {
	var (
		runs          []*Run
		byName        = map[string]*Run{}
		cur           *Run
		group, member string
		round         int
		line          int
	)
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line++
		if key, value, ok := ParseConfig(sc.Text()); ok {
			switch key {
			case "run":
				if cur = byName[value]; cur == nil {
					cur = &Run{Name: value, Meta: map[string]string{}, Samples: map[string]map[string]map[int]Sample{}}
					byName[value] = cur
					runs = append(runs, cur)
				}
			case "round":
				n, err := strconv.Atoi(value)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("line %d: round %q is not a positive number", line, value)
				}
				round = n
			case "group":
				group = value
			case "member":
				member = value
			default:
				if cur != nil {
					cur.Meta[key] = value
				}
			}
			continue
		}
		res, ok, err := ParseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if !ok {
			continue
		}
		if cur == nil || round == 0 || group == "" || member == "" {
			return nil, fmt.Errorf("line %d: a result before its run, round, group and member", line)
		}
		s, err := sampleOf(res)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if err := cur.add(group, member, round, s); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	return runs, sc.Err()
}

// sampleOf returns the ns/op and allocs/op of res, which must have both
// (go test -benchmem).
func sampleOf(res Result) (Sample, error) {
	ns, okNs := res.Metrics["ns/op"]
	allocs, okAllocs := res.Metrics["allocs/op"]
	if !okNs || !okAllocs {
		return Sample{}, fmt.Errorf("benchmark %s has no ns/op or no allocs/op (run with -benchmem)", res.Name)
	}
	return Sample{NsPerOp: ns, AllocsPerOp: allocs}, nil
}

// rawWriter writes a raw file. Configuration lines are written in full
// every time, so that each run carries all its metadata.
type rawWriter struct {
	w   io.Writer
	err error
}

func newRawWriter(w io.Writer) *rawWriter { return &rawWriter{w: w} }

// Config writes "key: value".
func (rw *rawWriter) Config(key, value string) { rw.printf("%s: %s\n", key, value) }

// Result writes a result line.
func (rw *rawWriter) Result(r Result) { rw.printf("%s\n", r) }

func (rw *rawWriter) printf(format string, args ...any) {
	if rw.err == nil {
		_, rw.err = fmt.Fprintf(rw.w, format, args...)
	}
}

// Err returns the first write error.
func (rw *rawWriter) Err() error { return rw.err }
