package retry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// job is a queued message whose retry progress travels with it, as a
// header or a column would carry it.
type job struct {
	Body     string
	NotUntil time.Time
	Retry    json.RawMessage // a retry.Progress, as JSON
}

var errUpstream = errors.New("upstream unavailable")

// A queue consumer that never sleeps: a failed message goes back on the
// queue with the delay the policy chose and its progress, until the policy
// gives up and says why. Time is passed in, so the same decisions run in
// production (time.Now()) and here (a fixed clock).
func ExamplePolicy_Failed() {
	policy, err := retry.NewPolicy(retry.WithMaxAttempts(3), retry.WithJitter(retry.NoJitter))
	if err != nil {
		panic(err)
	}
	handle := func(context.Context, string) error { return errUpstream } // always fails here

	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	queue := []job{{Body: "charge order 42", NotUntil: now}}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		now = j.NotUntil // the queue delivers the message when it is due

		var pr retry.Progress
		if j.Retry != nil {
			if err := json.Unmarshal(j.Retry, &pr); err != nil {
				panic(err)
			}
		}
		ctx, pr, err := policy.Begin(context.Background(), pr, now)
		if err != nil {
			fmt.Println("not attempted:", err)
			continue
		}
		err = handle(ctx, j.Body)
		if err == nil {
			policy.Succeeded(ctx, pr, now)
			continue
		}
		v := policy.Failed(ctx, pr, err, now)
		if v.Err != nil {
			fmt.Println("dead letter:", v.Err, "| exhausted:", errors.Is(v.Err, retry.ErrExhausted))
			continue
		}
		state, _ := json.Marshal(v.Next)
		fmt.Printf("attempt %d failed; redeliver in %v with %s\n", pr.Attempts, v.Wait, state)
		queue = append(queue, job{Body: j.Body, NotUntil: now.Add(v.Wait), Retry: state})
	}
	// Output:
	// attempt 1 failed; redeliver in 100ms with {"attempts":1,"start":"2026-11-30T09:00:00Z","prev":100000000}
	// attempt 2 failed; redeliver in 200ms with {"attempts":2,"start":"2026-11-30T09:00:00Z","prev":200000000}
	// dead letter: retry: attempts exhausted after 3 attempts: upstream unavailable | exhausted: true
}
