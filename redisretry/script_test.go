package redisretry_test

import (
	"context"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/retrykit/retry/redisretry"
)

// The script in Redis and the Go bucket a process falls back to apply the
// same rules: for any sequence of exchanges (deposits, draws of need to
// want micro-tokens) they lend the same and keep the same. Time refill is
// left out: the script reads the server's clock.
func TestScriptMatchesBucket(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	ctx := context.Background()
	rapid.Check(t, func(t *rapid.T) {
		capacity := rapid.Int64Range(1, 1e9).Draw(t, "capacity")
		threshold := rapid.Int64Range(0, capacity-1).Draw(t, "threshold")
		ops := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) [3]int64 {
			need := rapid.Int64Range(0, capacity).Draw(t, "need")
			return [3]int64{rapid.Int64Range(0, capacity).Draw(t, "deposit"), need, rapid.Int64Range(need, capacity+1).Draw(t, "want")}
		}), 1, 20).Draw(t, "ops")
		wantLent, wantLeft := redisretry.BucketLend(float64(capacity), float64(threshold), ops)
		k := prefix + ":{prop}:budget"
		c.Del(ctx, k)
		for i, op := range ops {
			v, err := redisretry.BudgetScript.Run(ctx, c, []string{k}, "cfg", capacity, threshold, 0, 60000, op[0], op[1], op[2]).StringSlice()
			if err != nil {
				t.Fatal(err)
			}
			lent, _ := strconv.ParseInt(v[0], 10, 64)
			left, _ := strconv.ParseFloat(v[1], 64)
			if lent != wantLent[i] || left != wantLeft[i] {
				t.Fatalf("exchange %d %v: script lent %d and kept %v, Go lent %d and kept %v", i, op, lent, left, wantLent[i], wantLeft[i])
			}
		}
	})
}
