package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/retrykit/retry"
)

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
		return "0 (unlimited)"
	}
	return fmt.Sprint(n)
}

func durationLimit(d time.Duration) string {
	if d == 0 {
		return "0 (no limit)"
	}
	return d.String()
}
