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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "retry\twait\ttotal wait")
	var total time.Duration
	for i, d := range p.Schedule(n) {
		total = satAdd(total, d)
		if c.maxElapsed > 0 && total >= c.maxElapsed {
			fmt.Fprintf(tw, "%d\t%s\t%s\t(not taken: it would end past -max-elapsed %s, so the loop stops)\n",
				i+1, roundDuration(d), roundDuration(total), c.maxElapsed)
			tw.Flush()
			return
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, roundDuration(d), roundDuration(total))
	}
	tw.Flush()
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
