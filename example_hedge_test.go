package retry_test

import (
	"context"
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
