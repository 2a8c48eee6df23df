package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// A budget shared by every call to one dependency: 10 tokens, one back per
// successful call. Retries draw on it; once it is
// empty, calls still make their first attempt but retry no more.
func ExampleNewBudget() {
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 1})
	if err != nil {
		panic(err)
	}
	p, err := retry.NewPolicy(retry.WithBudget(budget), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		panic(err)
	}
	down := errors.New("503 Service Unavailable")
	calls := 0
	op := func(context.Context) (string, error) { calls++; return "", down }
	for range 5 {
		_, err = retry.Do(context.Background(), op, p)
	}
	fmt.Println("calls:", calls, "tokens:", budget.Tokens())
	fmt.Printf("%+v\n", budget.Stats())
	fmt.Println(errors.Is(err, retry.ErrBudgetExhausted), errors.Is(err, down))
	fmt.Println(err)
	// Output:
	// calls: 15 tokens: 0
	// {Allowed:10 Denied:2}
	// true true
	// retry: retry budget exhausted (client-side decision) after 1 attempt: 503 Service Unavailable
}

// Throttling on half the bucket: retries stop once they would take it
// below half full, so that a client keeps half its budget for when the
// dependency recovers. (gRPC's own rule stops one retry earlier; see
// BudgetConfig.Threshold.)
func ExampleBudgetConfig_threshold() {
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5})
	if err != nil {
		panic(err)
	}
	_, err = retry.Do(context.Background(),
		func(context.Context) (int, error) { return 0, errors.New("unavailable") },
		retry.WithBudget(budget), retry.WithMaxAttempts(0), retry.WithBackoff(retry.Constant(0)))
	fmt.Println(budget.Stats().Allowed, "retries, then:", errors.Is(err, retry.ErrBudgetExhausted), budget.Tokens())
	// Output: 5 retries, then: true 5
}

// A breaker on its own, without retries: Run calls the operation once, or
// not at all while the circuit is open.
func ExampleBreaker_Run() {
	var changes []string
	breaker, err := retry.NewBreaker(retry.BreakerConfig{
		FailureThreshold: 2,
		RecoveryTimeout:  time.Minute,
		OnStateChange:    func(from, to retry.BreakerState) { changes = append(changes, from.String()+" -> "+to.String()) },
	})
	if err != nil {
		panic(err)
	}
	down := errors.New("connection refused")
	ctx := context.Background()
	for range 3 {
		err = breaker.Run(ctx, func(context.Context) error { return down })
	}
	var re *retry.Error
	fmt.Println(errors.Is(err, retry.ErrCircuitOpen), errors.As(err, &re) && re.Attempts == 0)
	fmt.Println(breaker.State(), changes)
	fmt.Printf("%+v\n", breaker.Stats())
	// Output:
	// true true
	// open [closed -> open]
	// {Failures:2 Rejected:1 Opened:1}
}

// A breaker shared by the calls of a retry policy: each attempt asks it for
// admission. Errors the policy does not retry (here a Permanent one) mean
// the dependency answered and never open the circuit.
func ExampleWithBreaker() {
	breaker, err := retry.NewBreaker(retry.BreakerConfig{}) // 5 failures in a row, 30s, 1 probe
	if err != nil {
		panic(err)
	}
	p, err := retry.NewPolicy(retry.WithBreaker(breaker), retry.WithMaxAttempts(10), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	notFound := errors.New("404 Not Found")
	_, err = retry.Do(ctx, func(context.Context) (int, error) { return 0, retry.Permanent(notFound) }, p)
	fmt.Println(errors.Is(err, retry.ErrPermanent), breaker.State())

	calls := 0
	_, err = retry.Do(ctx, func(context.Context) (int, error) { calls++; return 0, errors.New("timeout") }, p)
	fmt.Println(calls, "calls;", err)
	_, err = retry.Do(ctx, func(context.Context) (int, error) { calls++; return 1, nil }, p)
	fmt.Println(calls, "calls;", err)
	// Output:
	// true closed
	// 5 calls; retry: circuit breaker is open after 5 attempts: timeout
	// 5 calls; retry: circuit breaker is open
}
