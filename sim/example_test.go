package sim_test

import (
	"fmt"
	"os"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// A 5 s stall at utilisation 0.7: three attempts per request without a
// budget keep the server overloaded for good; gRPC-style throttling, each
// client with its own budget, lets it drain and recover.
func Example() {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3),
		retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithMaxDelay(5*time.Second))
	if err != nil {
		panic(err)
	}
	throttled := &retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5}
	for _, f := range []sim.Fleet{{Policy: p}, {Policy: p, Budget: throttled}} {
		r, err := sim.Metastable().Run(f)
		if err != nil {
			panic(err)
		}
		s := r.Summary
		fmt.Printf("budget %-5v amplification %.2f, recovered %v\n", f.Budget != nil, s.Amplification, s.Recovered)
	}
	// Output:
	// budget false amplification 2.85, recovered false
	// budget true  amplification 1.01, recovered true
}

// Brooker's contention benchmark with full jitter: 100 clients, 100 trials.
func ExampleOCC() {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxDelay(2*time.Second),
		retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithJitter(retry.FullJitter))
	if err != nil {
		panic(err)
	}
	r, err := sim.OCC{Clients: 100, Seed: 1}.Run(sim.Fleet{Policy: p})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.0f calls, %.1fs\n", r.Calls, r.Time.Seconds())
	// Output:
	// 796 calls, 4.9s
}

// Three layers of three attempts each in a total outage: 27 attempts reach
// the dependency per request.
func ExampleLayers() {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3))
	if err != nil {
		panic(err)
	}
	r, err := sim.Layers{Depth: 3, Requests: 100, FailRate: 1}.Run(sim.Fleet{Policy: p})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Attempts, r.Amplification)
	// Output:
	// [300 900 2700] 27
}

// The table of a run, as retry sim prints it.
func ExampleWriteTable() {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3))
	if err != nil {
		panic(err)
	}
	s := sim.Open{Clients: 10, Rate: 50, Workers: 1, Service: 10 * time.Millisecond, Queue: 100,
		Hop: 5 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Trigger: sim.Trigger{Mode: sim.Reject, Start: 2 * time.Second, Length: time.Second}, After: 10 * time.Second}
	r, err := s.Run(sim.Fleet{Policy: p})
	if err != nil {
		panic(err)
	}
	r.Label = "3 attempts"
	sim.WriteTable(os.Stdout, r)
	// Output:
	// 3 attempts
	//                                 caller requests          650
	//                          attempts at the server          736
	//                            amplification (mean)        1.132
	//                     amplification (peak bucket)         2.55
	//                         amplification (trigger)        2.609
	//                                 served (wasted)      615 (0)
	//                           goodput /s (baseline)  47.3 (50.0)
	//                             client success rate       94.76%
	//             latency of successes p50/p90/p99 ms    23/43/151
	//   time to outcome, all requests, p50/p90/p99 ms    24/70/275
	//                           herd peak (per 100ms)           15
	//                                 time to recover           0s
}
