package retry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// A driver that is not DoHedged (an event loop, a custom transport) hedges
// through the engine at explicit instants: Begin sends the first copy,
// Hedge admits another every HedgeAfter while fewer than MaxInFlight run,
// Succeeded reports the winner and Failed, under a context that is done,
// each loser. The budget pays for the hedges as for retries, so when the
// dependency is slow for everyone the hedges stop. The observer hears of
// the call what DoHedged tells it: the loser's AttemptEnd marked Lost,
// and one Done, once every copy is reported, with the call's counts.
func ExamplePolicy_Hedge() {
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
	if err != nil {
		panic(err)
	}
	observer := &retry.Observer{
		AttemptEnd: func(_ context.Context, e retry.AttemptEndInfo) {
			if e.Lost {
				fmt.Printf("  copy %d lost\n", e.Attempt)
			}
		},
		Done: func(_ context.Context, e retry.DoneInfo) {
			fmt.Printf("  done: Attempts=%d Hedges=%d\n", e.Attempts, e.Hedges)
		},
	}
	policy, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 2), retry.WithBudget(budget),
		retry.WithObserver(observer))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	lost, cancel := context.WithCancel(ctx)
	cancel() // the context a loser is reported under

	// call sends copies whose answers take the latencies given, from t0,
	// and prints the copy that won and when.
	call := func(t0 time.Time, latency ...time.Duration) {
		_, pr, err := policy.Begin(ctx, retry.Progress{}, t0)
		if err != nil {
			fmt.Println("not sent:", err)
			return
		}
		sent := []time.Time{t0}
		copies := []retry.Progress{pr}
		answer := func(k int) time.Time { return sent[k].Add(latency[k]) }
		win := 0
		for len(copies) < policy.MaxInFlight() && len(copies) < len(latency) {
			at := sent[len(sent)-1].Add(policy.HedgeAfter())
			if !at.Before(answer(win)) {
				break // answered before the next hedge was due
			}
			_, h, err := policy.Hedge(ctx, copies[len(copies)-1], at)
			if err != nil {
				fmt.Printf("hedge at %v refused: %v\n", at.Sub(t0), err)
				break // no further hedge in this call
			}
			sent, copies = append(sent, at), append(copies, h)
			if answer(len(copies) - 1).Before(answer(win)) {
				win = len(copies) - 1
			}
		}
		fmt.Printf("copy %d of %d won after %v\n", win+1, len(copies), answer(win).Sub(t0))
		policy.Succeeded(ctx, copies[win], answer(win))
		for k := range copies {
			if k != win {
				policy.Failed(lost, copies[k], context.Canceled, answer(win)) // counts as nothing
			}
		}
	}

	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	call(t0, 5*time.Millisecond)                       // fast: no hedge
	call(t0, 80*time.Millisecond, 4*time.Millisecond)  // a straggler: the hedge wins
	call(t0, 80*time.Millisecond, 80*time.Millisecond) // slow for everyone: the budget is spent
	// Output:
	// copy 1 of 1 won after 5ms
	//   done: Attempts=1 Hedges=0
	// copy 2 of 2 won after 14ms
	//   copy 1 lost
	//   done: Attempts=2 Hedges=1
	// hedge at 10ms refused: retry: retry budget exhausted (client-side decision) after 1 attempt
	// copy 1 of 1 won after 80ms
	//   done: Attempts=1 Hedges=0
}
