package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/retrykit/retry"
)

// dryRunUnlimited is how many waits -dry-run shows when nothing bounds the
// number of attempts.
const dryRunUnlimited = 10

// dryRunMaxRows is the most waits -dry-run shows; a larger -attempts gets a
// line for the rest.
const dryRunMaxRows = 100

// strategy returns the backoff strategy the flags describe.
func (c *config) strategy() retry.Strategy {
	switch c.backoff {
	case backoffConstant:
		return retry.Constant(c.delay)
	case backoffLinear:
		return retry.Linear(c.delay, c.step)
	case backoffFibonacci:
		return retry.Fibonacci(c.delay)
	}
	return retry.Exponential(c.delay, c.multiplier)
}

// policy builds the retry policy the flags describe: everything except the
// classification and the -v hook, which depend on the mode.
func (c *config) policy() (*retry.Policy, error) {
	return retry.NewPolicy(
		retry.WithMaxAttempts(c.attempts),
		retry.WithBackoff(c.strategy()),
		retry.WithMaxDelay(c.maxDelay),
		retry.WithJitter(c.jitter),
		retry.WithMaxElapsed(c.maxElapsed),
		retry.WithAttemptTimeout(c.attemptTimeout),
	)
}

// describe returns the policy settings in flag syntax, for -dry-run and -v.
func (c *config) describe() string {
	parts := []string{
		"-attempts " + limitString(c.attempts),
		"-backoff " + c.backoff,
		"-delay " + c.delay.String(),
	}
	switch c.backoff {
	case backoffLinear:
		parts = append(parts, "-step "+c.step.String())
	case backoffExponential:
		parts = append(parts, fmt.Sprintf("-multiplier %g", c.multiplier))
	}
	parts = append(parts,
		"-max-delay "+durationLimit(c.maxDelay),
		"-jitter "+c.jitter.String(),
		"-max-elapsed "+durationLimit(c.maxElapsed),
		"-attempt-timeout "+durationLimit(c.attemptTimeout),
	)
	return strings.Join(parts, " ")
}

func limitString(n int) string {
	if n == 0 {
		return "0 (no limit)"
	}
	return fmt.Sprint(n)
}

func durationLimit(d time.Duration) string {
	if d == 0 {
		return "0 (no limit)"
	}
	return d.String()
}

// printSchedule writes the waits p would choose before each retry, as
// -dry-run does. The jitter is drawn now, so a real run draws other waits;
// attempt durations are not counted toward -max-elapsed here.
func printSchedule(w io.Writer, c *config, p *retry.Policy) {
	fmt.Fprintf(w, "policy: %s\n", c.describe())
	n := c.attempts - 1
	if c.attempts == 0 {
		n = dryRunUnlimited
	}
	if n == 0 {
		fmt.Fprintln(w, "a single attempt: no retries, no waits")
		return
	}
	more := 0 // retries not shown
	if n > dryRunMaxRows {
		n, more = dryRunMaxRows, n-dryRunMaxRows
	}
	if c.jitter != retry.NoJitter {
		fmt.Fprintf(w, "waits drawn with %s jitter; every run draws its own\n", c.jitter)
	}
	waits := p.Schedule(n)
	totals := make([]time.Duration, len(waits))
	var total time.Duration
	stop := len(waits) // the row -max-elapsed stops at, if any
	for i, d := range waits {
		total = satAdd(total, d)
		totals[i] = total
		if c.maxElapsed > 0 && total >= c.maxElapsed {
			stop = i
			waits, totals = waits[:i+1], totals[:i+1]
			break
		}
	}
	format := columnFormat(slices.Concat(waits, totals))
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "retry\twait\ttotal wait\t")
	for i, d := range waits {
		fmt.Fprintf(tw, "%d\t%s\t%s\t", i+1, format(d), format(totals[i]))
		if i == stop {
			fmt.Fprintf(tw, "  (not taken: it would end past -max-elapsed %s, so the loop stops)", c.maxElapsed)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for line := range strings.Lines(table.String()) {
		fmt.Fprint(w, strings.TrimPrefix(line, "  ")) // the padding before the first column
	}
	if stop < len(waits) {
		return
	}
	if more > 0 {
		fmt.Fprintf(w, "... and up to %d more retries (-attempts %d)\n", more, c.attempts)
	}
	if c.attempts == 0 {
		fmt.Fprintf(w, "... and so on: -attempts 0 sets no limit\n")
	}
}

// satAdd returns a+b for non-negative a and b, saturating at the largest
// duration instead of wrapping to a negative one.
func satAdd(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// columnFormat returns how -dry-run writes the waits of its table, so that
// a column of them reads evenly: all in one unit, the one that suits the
// largest value (µs below 10ms, ms below 10s, s from there) or a larger one
// in which every value is whole, and all with one decimal unless every
// value is a whole number of that unit. For example 6.9ms, 20.0ms and
// 26.9ms rather than 6.918ms, 20ms and 26.918ms; 1s, 3s and 4s.
func columnFormat(values []time.Duration) func(time.Duration) string {
	largest := slices.Max(append(values, 0))
	unit, suffix := time.Second, "s"
	switch {
	case largest < 10*time.Millisecond:
		unit, suffix = time.Microsecond, "µs"
	case largest < 10*time.Second:
		unit, suffix = time.Millisecond, "ms"
	}
	whole := func(u time.Duration) bool {
		return !slices.ContainsFunc(values, func(v time.Duration) bool { return v%u != 0 })
	}
	for u, suf := range map[time.Duration]string{time.Second: "s", time.Millisecond: "ms"} {
		if u > unit && whole(u) && (u == time.Second || !whole(time.Second)) {
			unit, suffix = u, suf
		}
	}
	decimals := 1
	if whole(unit) {
		decimals = 0
	}
	return func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(unit), 'f', decimals, 64) + suffix
	}
}

// roundDuration rounds d for people: three significant digits or so.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
