package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
)

// A read whose first copy is stuck: 10ms later a second copy is sent, and
// its answer wins; the stuck copy is cancelled, and Do waits for it.
func ExampleWithHedge() {
	p, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	var copies atomic.Int32
	read := func(ctx context.Context) (string, error) {
		if copies.Add(1) == 1 {
			<-ctx.Done() // stuck until the hedge wins
			fmt.Println("copy 1:", context.Cause(ctx))
			return "", ctx.Err()
		}
		return "answer from copy 2", nil
	}
	v, err := retry.DoHedged(context.Background(), read, p)
	fmt.Println(v, err)
	// Output:
	// copy 1: retry: hedged call: another copy won
	// answer from copy 2 <nil>
}

// An adaptive delay: the 95th percentile of the latencies the calls
// observe, 20ms until enough are seen.
func ExampleNewHedgeDelay() {
	d, err := retry.NewHedgeDelay(0.95, 20*time.Millisecond)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("before:", d.Delay())
	for i := range 1000 {
		d.Observe(time.Duration(1+i%100) * time.Millisecond) // 1ms to 100ms, evenly
	}
	fmt.Println("after: ~", d.Delay().Round(time.Millisecond))
	p, err := retry.NewPolicy(retry.WithAdaptiveHedge(d, 2))
	fmt.Println(p != nil, err)
	// Output:
	// before: 20ms
	// after: ~ 95ms
	// true <nil>
}

// A hedged read with an adaptive delay and a budget: the delay is the 95th
// percentile of recent latencies (20ms until enough are seen), hedges and
// retries share the 3 attempts, and each hedge withdraws a retry's cost
// from the budget. The first copy is stuck; the hedge's answer wins.
func ExampleDoHedged() {
	delay, err := retry.NewHedgeDelay(0.95, 20*time.Millisecond)
	if err != nil {
		fmt.Println(err)
		return
	}
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy, err := retry.NewPolicy(
		retry.WithAdaptiveHedge(delay, 2), // or retry.WithHedge(20*time.Millisecond, 2)
		retry.WithMaxAttempts(3),          // hedges and retries share it
		retry.WithBudget(budget),          // each hedge is admitted as a retry
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	var copies atomic.Int32
	lookup := func(ctx context.Context) (string, error) { // idempotent, safe to run concurrently
		if copies.Add(1) == 1 {
			<-ctx.Done() // stuck until another copy wins
			return "", ctx.Err()
		}
		return "value", nil
	}
	v, err := retry.DoHedged(context.Background(), lookup, policy)
	fmt.Println(v, err, copies.Load())
	_, err = retry.Do(context.Background(), lookup, policy)
	fmt.Println(errors.Is(err, retry.ErrInvalidConfig))
	// Output:
	// value <nil> 2
	// true
}
