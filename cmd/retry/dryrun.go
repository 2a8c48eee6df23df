package main

import (
	"fmt"
	"io"
	"math"
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
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "retry\twait\ttotal wait\t")
	for i, d := range waits {
		fmt.Fprintf(tw, "%d\t%s\t%s\t", i+1, formatDuration(d), formatDuration(totals[i]))
		if i == stop {
			fmt.Fprintf(tw, "  (not taken: it would end at or past -max-elapsed %s, so the loop stops)", c.maxElapsed)
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
		fmt.Fprintf(w, "... and so on until the total wait would end at or past -max-elapsed %s\n", c.maxElapsed)
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
