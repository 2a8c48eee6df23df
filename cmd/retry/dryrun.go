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
// number of attempts: neither -attempts nor -max-elapsed.
const dryRunUnlimited = 10

// dryRunMaxRows is the most waits -dry-run shows; a larger -attempts, or a
// -max-elapsed not reached by then, gets a line for the rest.
const dryRunMaxRows = 100

// printSchedule writes the waits p would choose before each retry, as
// -dry-run does. The jitter is drawn now, so a real run draws other waits;
// attempt durations are not counted toward -max-elapsed here.
func printSchedule(w io.Writer, c *config, p *retry.Policy) {
	fmt.Fprintf(w, "policy: %s\n", c.describe())
	n := c.attempts - 1
	switch {
	case c.attempts == 0 && c.maxElapsed > 0:
		n = dryRunMaxRows // until the total reaches -max-elapsed
	case c.attempts == 0:
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
	switch {
	case more > 0:
		fmt.Fprintf(w, "... and up to %d more retries (-attempts %d)\n", more, c.attempts)
	case c.attempts == 0 && c.maxElapsed > 0:
		fmt.Fprintf(w, "... and so on until the total wait would end past -max-elapsed %s\n", c.maxElapsed)
	case c.attempts == 0:
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
// a column of them reads evenly: all in one unit with the same number of
// decimals, every non-zero value with at least two significant digits (or
// exact). The unit is the one that suits the largest value (ns below 1µs,
// µs below 10ms, ms below 10s, s from there), a smaller one when the
// smallest non-zero value would need more than three decimals in it, or a
// larger one in which every value is whole. There is one decimal, more if
// the smallest value needs them, and none when every value is a whole
// number of the unit. For example 6.9ms, 20.0ms and 26.9ms rather than
// 6.918ms, 20ms and 26.918ms; 1s, 3s and 4s; 0.001s, 0.002s and 16.384s
// rather than 0.0s, 0.0s and 16.4s.
func columnFormat(values []time.Duration) func(time.Duration) string {
	units := []struct {
		size   time.Duration
		suffix string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}, {time.Nanosecond, "ns"}}
	largest := slices.Max(append(values, 0))
	whole := func(u time.Duration) bool {
		return !slices.ContainsFunc(values, func(v time.Duration) bool { return v%u != 0 })
	}
	i := 0 // the unit: the one that suits the largest value
	for i < len(units)-1 && largest < 10*units[i].size && (i < 2 || largest < units[i].size) {
		i++
	}
	decimals := 0
	for ; ; i++ {
		decimals = neededDecimals(values, units[i].size)
		if decimals <= 3 {
			break
		}
	}
	for j := range i { // a larger unit in which every value is whole
		if whole(units[j].size) && units[j].size <= time.Second {
			i, decimals = j, 0
			break
		}
	}
	unit, suffix := units[i].size, units[i].suffix
	return func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(unit), 'f', decimals, 64) + suffix
	}
}

// neededDecimals returns how many decimals show each non-zero value in
// unit exactly or with two significant digits: none when every value is
// whole, otherwise at least one.
func neededDecimals(values []time.Duration, unit time.Duration) int {
	most := 0
	for _, v := range values {
		if v == 0 {
			continue
		}
		exact := 0
		for step := unit; v%step != 0; step /= 10 {
			exact++
		}
		significant := 1 - int(math.Floor(math.Log10(float64(v)/float64(unit))))
		most = max(most, min(exact, significant))
	}
	if most == 0 && !slices.ContainsFunc(values, func(v time.Duration) bool { return v%unit != 0 }) {
		return 0
	}
	return max(1, most)
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
