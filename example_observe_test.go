package retry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/retrykit/retry"
)

// Logging retries with log/slog in one line: a record per retry at Debug,
// one at Warn when the call gives up.
func ExampleLogTo() {
	// A text handler without the time, so that the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	policy, err := retry.NewPolicy(
		retry.WithMaxAttempts(3),
		retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithJitter(retry.NoJitter),
		retry.WithObserver(retry.LogTo(logger)),
	)
	if err != nil {
		panic(err)
	}
	err = retry.Run(context.Background(), func(context.Context) error {
		return errors.New("connection refused")
	}, policy)
	fmt.Println(retry.ReasonOf(err))
	// Output:
	// level=DEBUG msg=retrying attempt=1 max_attempts=3 wait=10ms error="connection refused"
	// level=DEBUG msg=retrying attempt=2 max_attempts=3 wait=10ms error="connection refused"
	// level=WARN msg="giving up" attempt=3 max_attempts=3 reason=exhausted error="connection refused"
	// exhausted
}

// An Observer sees every attempt, including a first-try success, which
// WithNotify does not. Here it counts the calls that needed retries and
// the time they waited, as a metrics library would.
func ExampleObserver() {
	var calls, retried int
	var waited time.Duration
	obs := &retry.Observer{
		Done: func(_ context.Context, e retry.DoneInfo) {
			calls++
			if e.Attempts > 1 {
				retried++
				waited += e.Waited
			}
			fmt.Printf("call %d: %d attempt(s), %s, waited %v\n", calls, e.Attempts, retry.ReasonOf(e.Err), e.Waited)
		},
	}
	policy, err := retry.NewPolicy(retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithJitter(retry.NoJitter), retry.WithObserver(obs))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = retry.Run(ctx, func(context.Context) error { return nil }, policy)
	n := 0
	_ = retry.Run(ctx, func(context.Context) error {
		if n++; n < 3 {
			return errors.New("busy")
		}
		return nil
	}, policy)
	_ = retry.Run(ctx, func(context.Context) error { return retry.Permanent(errors.New("not found")) }, policy)
	fmt.Printf("%d of %d calls retried, %v waited\n", retried, calls, waited)
	// Output:
	// call 1: 1 attempt(s), success, waited 0s
	// call 2: 3 attempt(s), success, waited 2ms
	// call 3: 1 attempt(s), permanent, waited 0s
	// 1 of 3 calls retried, 2ms waited
}
