package retry

import (
	"context"
	"time"
)

// The wait before a retry: the strategy's base delay, capped, then
// jittered and capped again; a server hint and its spread; and the checks
// of the wait against the context's deadline and the elapsed limit.

// nextWait chooses the wait before the next attempt and checks it against
// the maximum delay, the context's deadline and the elapsed limit.
func (c *config) nextWait(ctx context.Context, pr *Progress, err error, hinted bool, hint time.Duration, clk *clock) (time.Duration, *Error) {
	var wait time.Duration
	switch {
	case hinted:
		if c.maxDelay > 0 && hint > c.maxDelay {
			return 0, pr.stop(err, ErrHintTooLong, hint)
		}
		wait = c.hintWait(pr.Attempts, hint)
	case c.zeroWaits:
		pr.Prev = 0
		if c.maxElapsed == 0 {
			return 0, nil
		}
		return 0, c.checkElapsed(pr, err, clk)
	default:
		wait = c.wait(pr.Attempts, pr.Prev)
	}
	pr.Prev = wait
	if wait > 0 {
		if deadline, ok := ctx.Deadline(); ok && deadline.Sub(clk.now()) <= wait {
			return 0, pr.stop(err, context.DeadlineExceeded, hint)
		}
	}
	if c.maxElapsed > 0 && satAdd(int64(clk.since(pr.Start)), int64(wait)) >= int64(c.maxElapsed) {
		return 0, pr.stop(err, ErrMaxElapsed, hint)
	}
	return wait, nil
}

// checkElapsed is nextWait for a zero wait without a hint: only the elapsed
// limit can stop the call.
func (c *config) checkElapsed(pr *Progress, err error, clk *clock) *Error {
	if clk.since(pr.Start) >= c.maxElapsed {
		return pr.stop(err, ErrMaxElapsed, 0)
	}
	return nil
}

// limit is the maximum delay, or the largest duration when there is none.
func (c *config) limit() time.Duration {
	if c.maxDelay > 0 {
		return c.maxDelay
	}
	return maxDuration
}

// base returns the strategy's delay for retry n, capped, never negative.
func (c *config) base(n int) time.Duration {
	var d time.Duration
	if c.strategy == nil {
		d = exponential{DefaultInitial, DefaultMultiplier}.Delay(n)
	} else {
		d = c.strategy.Delay(n)
	}
	return min(max(d, 0), c.limit())
}

// wait returns the jittered wait before retry n, given the previous wait.
func (c *config) wait(n int, prev time.Duration) time.Duration {
	base := c.base(n)
	if base == 0 && c.jitter.mode != jitterDecorrelated {
		return 0 // every other mode maps a zero base to a zero wait
	}
	first := base
	if n != 1 && c.jitter.mode == jitterDecorrelated {
		first = c.base(1)
	}
	if n == 1 {
		prev = first
	}
	return c.jitter.apply(c.rand, base, prev, first, c.limit())
}

// hintWait returns the wait for a server hint: the hint plus a full-jitter
// spread of retry n's base delay, or exactly the hint.
func (c *config) hintWait(n int, hint time.Duration) time.Duration {
	if c.exactHints || c.jitter.mode == jitterNone {
		return hint
	}
	spread := c.rand.between(0, c.base(n))
	return min(time.Duration(satAdd(int64(hint), int64(spread))), max(c.limit(), hint))
}
