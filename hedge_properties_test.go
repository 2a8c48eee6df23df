package retry_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// For any script of copies (latency and outcome each) and any hedging
// policy: Do returns only once every copy has returned, and no goroutine
// outlives it; copies never exceed the attempt limit nor the copies in
// flight; a success is the first copy to succeed, in virtual time; a
// failure counts every copy.
func TestHedgeProperties(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(hedgeBubbleT{t}, func(rt *rapid.T) {
			n := rapid.IntRange(1, 6).Draw(rt, "steps")
			type outcome int
			const (
				ok outcome = iota
				transient
				permanent
			)
			lat := make([]time.Duration, n)
			out := make([]outcome, n)
			for i := range n {
				lat[i] = time.Duration(rapid.IntRange(1, 60).Draw(rt, "latency")) * time.Millisecond
				out[i] = outcome(rapid.IntRange(0, 2).Draw(rt, "outcome"))
			}
			delay := time.Duration(rapid.SampledFrom([]int{0, 5, 10, 20}).Draw(rt, "delay")) * time.Millisecond
			inFlight := rapid.IntRange(2, 4).Draw(rt, "maxInFlight")
			attempts := rapid.IntRange(1, 6).Draw(rt, "maxAttempts")
			p, err := retry.NewPolicy(retry.WithHedge(delay, inFlight), retry.WithMaxAttempts(attempts),
				retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
			if err != nil {
				rt.Fatal(err)
			}

			var mu sync.Mutex
			started, running, peak := 0, 0, 0
			ends := map[int]time.Time{} // copies that returned a success
			op := func(ctx context.Context) (int, error) {
				mu.Lock()
				started++
				i := started
				running++
				peak = max(peak, running)
				mu.Unlock()
				defer func() { mu.Lock(); running--; mu.Unlock() }()
				s := min(i, n) - 1
				select {
				case <-time.After(lat[s]):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				switch out[s] {
				case ok:
					mu.Lock()
					ends[i] = time.Now()
					mu.Unlock()
					return i, nil
				case transient:
					return 0, errHedgeOp
				}
				return 0, retry.Permanent(errors.New("hedge property: permanent"))
			}
			base := runtime.NumGoroutine()
			v, err := retry.DoHedged(context.Background(), op, p)
			mu.Lock()
			defer mu.Unlock()
			if running != 0 {
				rt.Fatalf("Do returned with %d copies running", running)
			}
			if started > attempts || peak > inFlight {
				rt.Fatalf("%d copies (limit %d), %d at once (limit %d)", started, attempts, peak, inFlight)
			}
			if err == nil {
				won, ok := ends[v]
				if !ok {
					rt.Fatalf("the result %d is not a copy that succeeded", v)
				}
				for i, e := range ends {
					if e.Before(won) {
						rt.Fatalf("copy %d succeeded at %v, before the winner %d at %v", i, e, v, won)
					}
				}
			} else {
				var re *retry.Error
				if !errors.As(err, &re) || re.Attempts != started {
					rt.Fatalf("error %v after %d copies", err, started)
				}
				if r := retry.ReasonOf(err); r != "exhausted" && r != "permanent" {
					rt.Fatalf("reason %q", r)
				}
			}
			synctest.Wait()
			if g := hedgeLeaks(base); g != "" {
				rt.Fatalf("a goroutine of the call outlived it:\n%s", g)
			}
		})
	})
}

// hedgeGoroutines returns the stacks of the goroutines that run code of
// a hedged call (goleak-style), or "" when there are none.
func hedgeGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "retry.(*hedgeCall") {
			found = append(found, g)
		}
	}
	return strings.Join(found, "\n\n")
}

// hedgeLeaks is hedgeGoroutines after a call begun with base goroutines
// in the process, cheap when there are no more now: the count is one
// load, the stacks of every goroutine a 1 MB dump (which, under -race and
// on each of 20000 checks, took minutes). More goroutines than base need
// not be the call's (the count is the process's), so the stacks judge.
func hedgeLeaks(base int) string {
	if runtime.NumGoroutine() <= base {
		return ""
	}
	return hedgeGoroutines()
}

// hedgeBubbleT hands rapid a test inside a synctest bubble, which forbids
// the Deadline rapid asks for (see bubbleT in properties_budget_test.go).
type hedgeBubbleT struct{ *testing.T }
