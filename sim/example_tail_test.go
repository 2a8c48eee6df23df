package sim_test

import (
	"fmt"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// Dean and Barroso's fan-out, 2,000 user requests of 100 calls each:
// hedging at the p95 of recent latencies cuts the 99.9th percentile of
// the user requests more than tenfold for about 5% more requests.
func ExampleTail() {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(2))
	if err != nil {
		panic(err)
	}
	s := sim.LatencyTail()
	s.Requests, s.Seed = 2000, 1
	for _, h := range []sim.Hedge{{}, {Quantile: 0.95}} {
		r, err := s.Run(sim.Fleet{Policy: p}, h)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-9s p99.9 %4g ms, %.1f%% extra requests\n", r.Hedge, r.RequestP999, r.ExtraPercent)
	}
	// Output:
	// no hedge  p99.9  486 ms, 0.0% extra requests
	// hedge p95 p99.9   17 ms, 5.4% extra requests
}
