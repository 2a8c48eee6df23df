package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/retrykit/retry"
)

// flaky returns an operation that fails n times with err, then returns v.
func flaky[T any](n int, err error, v T) func(context.Context) (T, error) {
	calls := 0
	return func(context.Context) (T, error) {
		calls++
		if calls <= n {
			var zero T
			return zero, err
		}
		return v, nil
	}
}

// Retry a flaky operation with the defaults: 4 attempts, exponential
// backoff from 100ms ×2 capped at 30s, full jitter. T is inferred.
func Example() {
	ctx := context.Background()
	body, err := retry.Do(ctx, flaky(2, io.ErrUnexpectedEOF, "hello"),
		retry.WithBackoff(retry.Constant(time.Millisecond))) // short waits for the example
	fmt.Println(body, err)
	// Output: hello <nil>
}

// When every attempt fails, Do returns the last value and a *retry.Error
// that reaches both the operation's error and the reason the loop stopped.
func ExampleDo_failure() {
	ctx := context.Background()
	_, err := retry.Do(ctx, flaky(10, io.ErrUnexpectedEOF, 0),
		retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)))

	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println("attempts:", re.Attempts)
	}
	fmt.Println(errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, retry.ErrExhausted))
	fmt.Println(err)
	// Output:
	// attempts: 3
	// true true
	// retry: attempts exhausted after 3 attempts: unexpected EOF
}

// Build a policy once and share it: it is immutable and safe for concurrent
// use, and Do does not allocate with it when the operation succeeds.
func ExampleNewPolicy() {
	policy, err := retry.NewPolicy(
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential(50*time.Millisecond, 2)),
		retry.WithMaxDelay(2*time.Second),
		retry.WithJitter(retry.EqualJitter),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A per-call override, derived from the shared policy.
	quick, _ := policy.With(retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))

	n, err := retry.Do(context.Background(), flaky(1, io.EOF, 42), quick)
	fmt.Println(n, err)

	_, err = retry.NewPolicy(retry.WithBackoff(retry.Exponential(time.Second, 0.5)))
	fmt.Println(errors.Is(err, retry.ErrInvalidConfig))
	// Output:
	// 42 <nil>
	// true
}

// Run is Do for operations without a result.
func ExampleRun() {
	err := retry.Run(context.Background(), func(ctx context.Context) error {
		return nil // for example, a database transaction
	})
	fmt.Println(err)
	// Output: <nil>
}

// Classifiers decide which errors are worth another attempt; the first
// that is not Undecided wins.
func ExampleWithClassifier() {
	errNotFound := errors.New("not found")
	errBusy := errors.New("busy")
	policy, _ := retry.NewPolicy(
		retry.WithBackoff(retry.Constant(0)),
		retry.WithClassifier(
			retry.StopOn(errNotFound),      // never retry a not-found
			retry.RetryOn(errBusy, io.EOF), // retry only these; stop on anything else
		),
	)
	calls := 0
	_, err := retry.Do(context.Background(), func(context.Context) (string, error) {
		calls++
		return "", fmt.Errorf("lookup: %w", errNotFound)
	}, policy)
	fmt.Println(calls, errors.Is(err, retry.ErrPermanent), errors.Is(err, errNotFound))
	// Output: 1 true true
}

// An operation can stop the loop itself with Permanent.
func ExamplePermanent() {
	errInvalid := errors.New("invalid request")
	calls := 0
	err := retry.Run(context.Background(), func(context.Context) error {
		calls++
		return retry.Permanent(errInvalid)
	})
	fmt.Println(calls, errors.Is(err, errInvalid), errors.Is(err, retry.ErrPermanent))
	// Output: 1 true true
}

// After passes on a server's hint (say, a Retry-After header). With
// WithExactHints the loop waits exactly the hint; otherwise a jittered
// spread is added. A hint above the maximum delay ends the loop.
func ExampleAfter() {
	errThrottled := errors.New("429 too many requests")
	calls := 0
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		return 0, retry.After(time.Minute, errThrottled)
	}, retry.WithMaxDelay(10*time.Second))

	var re *retry.Error
	errors.As(err, &re)
	fmt.Println(calls, errors.Is(err, retry.ErrHintTooLong), re.Hint)
	// Output: 1 true 1m0s
}

// Log every retry with log/slog through the notify hook.
func ExampleWithNotify() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "elapsed" {
				return slog.Attr{} // drop the parts that vary from run to run
			}
			return a
		},
	}))
	notify := func(ctx context.Context, r retry.RetryInfo) {
		logger.LogAttrs(ctx, slog.LevelWarn, "retrying",
			slog.Int("attempt", r.Attempt),
			slog.String("err", r.Err.Error()),
			slog.Duration("wait", r.Wait),
			slog.Duration("elapsed", r.Elapsed))
	}
	_, err := retry.Do(context.Background(), flaky(2, io.ErrUnexpectedEOF, "ok"),
		retry.WithBackoff(retry.Linear(time.Millisecond, time.Millisecond)),
		retry.WithJitter(retry.NoJitter),
		retry.WithNotify(notify))
	fmt.Println(err)
	// Output:
	// level=WARN msg=retrying attempt=1 err="unexpected EOF" wait=1ms
	// level=WARN msg=retrying attempt=2 err="unexpected EOF" wait=2ms
	// <nil>
}

// A seeded random source makes jittered waits reproducible.
func ExampleWithRand() {
	policy, _ := retry.NewPolicy(
		retry.WithRand(rand.New(rand.NewPCG(1, 2))),
		retry.WithJitter(retry.ProportionalJitter(0.5)),
	)
	again, _ := retry.NewPolicy(
		retry.WithRand(rand.New(rand.NewPCG(1, 2))),
		retry.WithJitter(retry.ProportionalJitter(0.5)),
	)
	a, b := policy.Schedule(3), again.Schedule(3)
	fmt.Println(a[0] == b[0] && a[1] == b[1] && a[2] == b[2])
	fmt.Println(a[0] >= 50*time.Millisecond && a[0] <= 150*time.Millisecond)
	// Output:
	// true
	// true
}

// The strategies are pure functions of the retry number.
func ExampleStrategy() {
	for _, s := range []retry.Strategy{
		retry.Constant(time.Second),
		retry.Linear(time.Second, 500*time.Millisecond),
		retry.Exponential(100*time.Millisecond, 2),
		retry.Fibonacci(time.Second),
	} {
		fmt.Println(s.Delay(1), s.Delay(2), s.Delay(3), s.Delay(4), s.Delay(5))
	}
	// Output:
	// 1s 1s 1s 1s 1s
	// 1s 1.5s 2s 2.5s 3s
	// 100ms 200ms 400ms 800ms 1.6s
	// 1s 1s 2s 3s 5s
}

// A StrategyFunc turns any function into a Strategy.
func ExampleStrategyFunc() {
	steps := retry.StrategyFunc(func(n int) time.Duration {
		return []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}[min(n, 3)-1]
	})
	fmt.Println(steps.Delay(1), steps.Delay(2), steps.Delay(7))
	// Output: 1s 5s 30s
}

// A breaker shared by the calls to one dependency: after 2 consecutive
// failing attempts it opens, and calls fail fast without running the
// operation until the recovery timeout has passed.
func ExampleNewBreaker() {
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	calls := 0
	down := func(context.Context) (int, error) { calls++; return 0, io.ErrUnexpectedEOF }
	_, err = retry.Do(context.Background(), down, retry.WithBreaker(breaker), retry.WithBackoff(retry.Constant(0)))
	fmt.Println(calls, breaker.State(), errors.Is(err, retry.ErrCircuitOpen))
	_, err = retry.Do(context.Background(), down, retry.WithBreaker(breaker))
	fmt.Println(calls, errors.Is(err, retry.ErrCircuitOpen))
	// Output:
	// 2 open true
	// 2 true
}
