package benchmarks

import (
	"context"
	"math"
	"testing"

	retrygo "github.com/avast/retry-go/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// The lib= names are the columns of the benchstat table (benchstat -col /lib).
const (
	libDirect         = "direct"
	libHandLoop       = "handloop"
	libRetrykit       = "retrykit"
	libRetrykitInline = "retrykit-inline"
	libBackoff        = "backoff"
	libRetryGo        = "retry-go"
	libGoRetry        = "go-retry"
	libFailsafe       = "failsafe-go"
	libGobreaker      = "gobreaker"
	libResiliency     = "go-resiliency"
	libRate           = "x-time-rate"
	libRetrykitTransp = "retrykit-transport"
	libRetryablehttp  = "retryablehttp"
)

type namedRunner struct {
	lib string
	run Runner
}

type namedBreaker struct {
	lib string
	br  Breaker
}

type namedGetter struct {
	lib string
	get Getter
}

// retryLibs returns a fresh adapter of every retry library, baselines first.
func retryLibs(tb testing.TB) []namedRunner {
	tb.Helper()
	ctx := context.Background()
	rk, err := NewRetrykit()
	require.NoError(tb, err)
	return []namedRunner{
		{libDirect, Direct},
		{libHandLoop, HandLoop},
		{libRetrykit, rk},
		{libRetrykitInline, RetrykitInline},
		{libBackoff, NewBackoff()},
		{libRetryGo, NewRetryGo(ctx)},
		{libGoRetry, NewSethvargo()},
		{libFailsafe, NewFailsafe(ctx)},
	}
}

// breakerLibs returns a fresh breaker of every library, each opening after
// threshold consecutive failures; resiliencyThreshold is go-resiliency's
// error count (see NewEapache for why it differs). The direct baseline has
// no breaker and is always closed.
func breakerLibs(tb testing.TB, threshold, resiliencyThreshold int) []namedBreaker {
	tb.Helper()
	ctx := context.Background()
	return []namedBreaker{
		{libDirect, Breaker{
			Run:    func(ctx context.Context, op Op) (int, error) { return op(ctx) },
			Closed: func() bool { return true },
		}},
		{libRetrykit, must(NewRetrykitBreaker(threshold))(tb)},
		{libGobreaker, NewGobreaker(uint32(threshold))},
		{libFailsafe, NewFailsafeBreaker(ctx, uint(threshold))},
		{libResiliency, NewEapache(resiliencyThreshold)},
	}
}

// budgetLibs returns a retry adapter with a shared retry budget for every
// library that has one: capacity tokens, each retry costing one, each
// success giving perSuccess back (x/time/rate refills with time instead:
// refill tokens per second). failsafe-go's budget is not a token bucket and
// is configured not to refuse (see NewFailsafeBudget); it is left out when
// withFailsafe is false. The direct baseline has no budget.
func budgetLibs(tb testing.TB, capacity int, perSuccess int, refill float64, withFailsafe bool) []namedRunner {
	tb.Helper()
	ctx := context.Background()
	throttle := retrygo.NewFixedTokenBucketThrottle(retrygo.FixedTokenBucketThrottleConfig{
		MaxCapacity:             int64(capacity),
		ThrottleCost:            1,
		SuccessReleaseCost:      int64(max(perSuccess, 0)),
		FirstSuccessReleaseCost: int64(max(perSuccess, 0)),
	})
	libs := []namedRunner{
		{libDirect, Direct},
		{libRetrykit, must(NewRetrykitBudget(capacity, perSuccess))(tb)},
		{libRetryGo, NewRetryGo(ctx, retrygo.WithThrottle(throttle))},
		{libRate, NewRateBudget(rate.NewLimiter(rate.Limit(refill), capacity))},
	}
	if withFailsafe {
		libs = append(libs, namedRunner{libFailsafe, NewFailsafeBudget(ctx)})
	}
	return libs
}

// httpLibs returns a fresh client of every HTTP library, after direct:
// plain net/http (NewNetHTTP, or NewNetHTTPLoop when the workload retries).
func httpLibs(tb testing.TB, direct Getter) []namedGetter {
	tb.Helper()
	return []namedGetter{
		{libDirect, direct},
		{libRetrykit, NewRetrykitHTTP()},
		{libRetrykitTransp, NewRetrykitTransport()},
		{libRetryablehttp, NewRetryablehttp()},
		{libFailsafe, NewFailsafeHTTP()},
	}
}

// neverTrips is a go-resiliency error threshold no benchmark reaches.
const neverTrips = math.MaxInt32

// must returns a function that fails tb if err is not nil and returns v.
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}
