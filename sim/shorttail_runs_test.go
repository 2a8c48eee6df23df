package sim

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// shortTailKey names a run of shortTail(seed) with a policy of 4 attempts
// and no budget, hedged as h.
type shortTailKey struct {
	seed uint64
	h    Hedge
}

// shortTailRuns holds, per shortTailKey, the run made once per test
// binary: TestTailHedgingCutsTheTail and TestTailLibraryEstimator both
// compare hedging against the same runs without a hedge and at p95.
var shortTailRuns sync.Map // of shortTailKey → func() (TailResult, error)

// shortTailRun returns the run of shortTail(seed), 4 attempts, no budget,
// hedged as h, made once for every test that asks; the callers only read
// it.
func shortTailRun(t *testing.T, seed uint64, h Hedge) TailResult {
	t.Helper()
	run, _ := shortTailRuns.LoadOrStore(shortTailKey{seed, h}, sync.OnceValues(func() (TailResult, error) {
		p, err := retry.NewPolicy(retry.WithMaxAttempts(4))
		if err != nil {
			return TailResult{}, err
		}
		return shortTail(seed).Run(Fleet{Policy: p}, h)
	}))
	r, err := run.(func() (TailResult, error))()
	require.NoError(t, err)
	return r
}
