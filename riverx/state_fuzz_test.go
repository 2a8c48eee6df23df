package riverx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/riverqueue/river/rivertype"
)

// Any stored metadata and attempt count: loadState returns a valid state
// or an error, and Work decides without panicking, whatever the job
// returns.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{}`), 1, 25, false)
	f.Add([]byte(`{"retrykit":{"progress":{"attempts":2,"start":"2026-12-01T09:00:00Z","prev":100000000},"next_attempt":3}}`), 3, 25, true)
	f.Add([]byte(`{"retrykit":{"progress":{"attempts":1},"next_attempt":1,"undecided":true,"deferred":"budget"}}`), 4, 2, true)
	f.Add([]byte(`{"retrykit":{"stopped":"retry: permanent error"}}`), 2, 25, true)
	f.Add([]byte(`{"retrykit": "garbage"}`), 1, 25, true)
	f.Add([]byte(`{"retrykit":{"progress":{"attempts":9223372036854775807}}}`), 1, 25, true)
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
	if err != nil {
		f.Fatal(err)
	}
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2})
	if err != nil {
		f.Fatal(err)
	}
	r, err := New(Config{}, retry.WithBudget(budget), retry.WithBreaker(breaker), retry.WithMaxElapsed(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	fail := errors.New("fail")
	f.Fuzz(func(t *testing.T, metadata []byte, attempt, maxAttempts int, fails bool) {
		job := &rivertype.JobRow{ID: 7, Attempt: attempt, MaxAttempts: maxAttempts, Metadata: metadata}
		st, err := loadState(job)
		if err == nil && (st.Next < 0 || st.Progress.Attempts < 0 || st.Progress.Prev < 0) {
			t.Fatalf("loadState accepted an invalid state: %+v", st)
		}
		_ = r.Work(context.Background(), job, func(context.Context) error {
			if fails {
				return fail
			}
			return nil
		})
		_ = r.NextRetry(job)
	})
}
