package benchmarks

// The quality of hedging, on bhope/hedge's published workload
// (github.com/bhope/hedge, benchmark/simulate/main.go): 50,000 requests by
// 20 concurrent workers, each copy of a request taking a lognormal latency
// of mean 5 ms and standard deviation 2 ms, 10 times longer with
// probability 5% (a straggler). Every copy draws its own latency, as every
// hit of bhope/hedge's test server does. Here the copies sleep their
// latency in virtual time (testing/synctest), so a run takes no real time
// and two libraries see exactly the same draws: copy k of request i draws
// from a generator seeded with (seed, i, k), seed being -hedgetail.seed.
//
//	cd benchmarks && go test -run TestHedgeTail -v .
//
// prints the table the README quotes; -short and -race run 5,000 requests.

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fsbudget "github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/retrykit/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bhope/hedge's workload.
const (
	tailRequests    = 50_000
	tailConcurrency = 20
	tailMean        = 5 * time.Millisecond
	tailStddev      = 2 * time.Millisecond
	tailStragglerP  = 0.05
	tailStragglerX  = 10
)

// tailSeed seeds the latencies; another seed shows the spread of the
// table's figures (go test -run TestHedgeTail -v . -hedgetail.seed=7).
var tailSeed = flag.Uint64("hedgetail.seed", 2013, "seed of TestHedgeTail's latencies")

// tailRPS is bhope/hedge's estimate of the workload's rate, which sizes its
// budget: 20 workers, each taking the mean latency with stragglers (7.25 ms).
var tailRPS = tailConcurrency / (tailMean.Seconds() * (1 - tailStragglerP + tailStragglerX*tailStragglerP))

// tailLatency is the latency of copy k of request i: lognormal with mean
// tailMean and standard deviation tailStddev, times tailStragglerX with
// probability tailStragglerP.
func tailLatency(seed uint64, i, k int) time.Duration {
	cv := tailStddev.Seconds() / tailMean.Seconds()
	sigma := math.Sqrt(math.Log(1 + cv*cv))
	mu := math.Log(float64(tailMean)) - sigma*sigma/2
	r := rand.New(rand.NewPCG(seed, uint64(i)<<8|uint64(k)))
	d := math.Exp(mu + sigma*r.NormFloat64())
	if r.Float64() < tailStragglerP {
		d *= tailStragglerX
	}
	return time.Duration(d)
}

// tailResult is one configuration's run.
type tailResult struct {
	name    string
	lat     []time.Duration // sorted
	copies  int64           // copies of requests started (server hits)
	elapsed time.Duration   // virtual time of the whole run
}

// pct is bhope/hedge's percentile: the element at (n-1)·p of the sorted
// latencies.
func (r tailResult) pct(p float64) time.Duration { return r.lat[int(float64(len(r.lat)-1)*p)] }

// extra is the number of copies beyond one per request.
func (r tailResult) extra() int64 { return r.copies - int64(len(r.lat)) }

// runTail sends n requests through run from tailConcurrency workers, their
// latencies drawn with seed, in the caller's synctest bubble.
func runTail(name string, run Runner, n int, seed uint64) tailResult {
	lat := make([]time.Duration, n)
	var copies atomic.Int64
	var next atomic.Int64
	ctx := context.Background()
	begin := time.Now()
	var wg sync.WaitGroup
	for range tailConcurrency {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				var k atomic.Int64
				op := func(ctx context.Context) (int, error) {
					copies.Add(1)
					t := time.NewTimer(tailLatency(seed, i, int(k.Add(1)-1)))
					defer t.Stop()
					select {
					case <-t.C:
						return 1, nil
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				}
				start := time.Now()
				if _, err := run(ctx, op); err != nil {
					panic(fmt.Sprintf("%s: request %d failed: %v", name, i, err))
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return tailResult{name: name, lat: lat, copies: copies.Load(), elapsed: time.Since(begin)}
}

// tailConfig is one way of sending the requests. newRun builds its Runner
// inside the run's bubble (timers and budgets belong to the bubble's
// clock). bound, if not nil, is the most extra copies its budget allows in
// a run of n requests that took elapsed.
type tailConfig struct {
	name   string
	newRun func(t *testing.T) Runner
	bound  func(n int, elapsed time.Duration) float64
}

func retrykitTail(opts ...retry.Option) func(t *testing.T) Runner {
	return func(t *testing.T) Runner {
		p, err := retry.NewPolicy(opts...)
		require.NoError(t, err)
		return func(ctx context.Context, op Op) (int, error) { return retry.DoHedged(ctx, op, p) }
	}
}

func adaptiveTail(q float64, more ...func(t *testing.T) retry.Option) func(t *testing.T) Runner {
	return func(t *testing.T) Runner {
		d, err := retry.NewHedgeDelay(q, 2*tailMean)
		require.NoError(t, err)
		opts := []retry.Option{retry.WithAdaptiveHedge(d, HedgeCopies)}
		for _, m := range more {
			opts = append(opts, m(t))
		}
		return retrykitTail(opts...)(t)
	}
}

// bucketBudget is bhope/hedge's budget as a retrykit Budget: 10% of the
// estimated rate per second, a burst of twice that.
func bucketBudget(t *testing.T) retry.Option {
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 2 * 0.1 * tailRPS, PerSecond: 0.1 * tailRPS})
	require.NoError(t, err)
	return retry.WithBudget(b)
}

// successBudget earns a tenth of a hedge per successful call, from 10 tokens.
func successBudget(t *testing.T) retry.Option {
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1})
	require.NoError(t, err)
	return retry.WithBudget(b)
}

func failsafeTail(hp hedgepolicy.HedgePolicy[int]) Runner {
	exec := failsafe.With(hp).WithContext(context.Background())
	return func(_ context.Context, op Op) (int, error) {
		return exec.GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return op(e.Context()) })
	}
}

var tailConfigs = []tailConfig{
	{name: "no hedging", newRun: func(*testing.T) Runner { return Direct }},
	{name: "retrykit WithHedge(10ms)", newRun: retrykitTail(retry.WithHedge(10*time.Millisecond, HedgeCopies))},
	{name: "retrykit WithHedge(50ms)", newRun: retrykitTail(retry.WithHedge(50*time.Millisecond, HedgeCopies))},
	{name: "retrykit adaptive p90", newRun: adaptiveTail(0.90)},
	{name: "retrykit adaptive p95", newRun: adaptiveTail(0.95)},
	{
		name: "retrykit adaptive p90, budget 10%/s", newRun: adaptiveTail(0.90, bucketBudget),
		bound: func(_ int, elapsed time.Duration) float64 { return 0.2*tailRPS + 0.1*tailRPS*elapsed.Seconds() },
	},
	{
		name: "retrykit adaptive p90, budget 0.1/success", newRun: adaptiveTail(0.90, successBudget),
		bound: func(n int, _ time.Duration) float64 { return 10 + 0.1*float64(n) },
	},
	{
		name: "retrykit adaptive p95, budget 0.1/success", newRun: adaptiveTail(0.95, successBudget),
		bound: func(n int, _ time.Duration) float64 { return 10 + 0.1*float64(n) },
	},
	{name: "failsafe-go delay 10ms", newRun: func(*testing.T) Runner {
		return failsafeTail(hedgepolicy.NewWithDelay[int](10 * time.Millisecond))
	}},
	{name: "failsafe-go delay 50ms", newRun: func(*testing.T) Runner {
		return failsafeTail(hedgepolicy.NewWithDelay[int](50 * time.Millisecond))
	}},
	{name: "failsafe-go quantile p90", newRun: func(*testing.T) Runner {
		return failsafeTail(hedgepolicy.NewWithDelayQuantile[int](0.90, 1000, 100))
	}},
	{name: "failsafe-go quantile p90, budget 10%", newRun: func(*testing.T) Runner {
		b := fsbudget.NewBuilder().WithMaxRate(0.1).Build()
		return failsafeTail(hedgepolicy.NewBuilderWithDelayQuantile[int](0.90, 1000, 100).WithBudget(b).Build())
	}},
}

func TestHedgeTail(t *testing.T) {
	n := tailRequests
	if testing.Short() || raceEnabled {
		n = tailRequests / 10
	}
	results := make([]tailResult, len(tailConfigs))
	for i, c := range tailConfigs {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				results[i] = runTail(c.name, c.newRun(t), n, *tailSeed)
			})
			r := results[i]
			assert.LessOrEqual(t, r.extra(), int64(n*(HedgeCopies-1)), "at most one hedge per request")
			if c.bound != nil {
				assert.LessOrEqual(t, float64(r.extra()), c.bound(n, r.elapsed), "the budget's bound")
			}
			if i > 0 {
				assert.Less(t, r.pct(0.99), results[0].pct(0.99), "hedging lowers p99")
				assert.Positive(t, r.extra(), "some requests were hedged")
			} else {
				assert.Zero(t, r.extra())
			}
		})
	}
	if t.Failed() {
		return
	}
	t.Logf("%d requests, %d workers, lognormal mean %v sd %v, %.0f%% stragglers ×%d, seed %d; virtual time\n%s",
		n, tailConcurrency, tailMean, tailStddev, 100*tailStragglerP, tailStragglerX, *tailSeed, tailTable(results))
}

// tailTable is the Markdown table of results.
func tailTable(results []tailResult) string {
	var b strings.Builder
	b.WriteString("| configuration | p50 | p90 | p99 | p99.9 | extra requests |\n|---|---|---|---|---|---|\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f%% |\n", r.name, ms(r.pct(0.5)), ms(r.pct(0.9)),
			ms(r.pct(0.99)), ms(r.pct(0.999)), 100*float64(r.extra())/float64(len(r.lat)))
	}
	return b.String()
}
