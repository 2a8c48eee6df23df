package retry_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// maxDuration is the largest time.Duration, where strategies saturate.
const maxDuration = time.Duration(math.MaxInt64)

var (
	errA = errors.New("a: transient")
	errB = errors.New("b: transient")
	errC = errors.New("c: transient")
)

// newPolicy builds a policy or fails the test.
func newPolicy(t testing.TB, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(opts...)
	require.NoError(t, err)
	return p
}

// failing returns an operation that always fails with err and returns the
// number of its call as its value, and a pointer to that count.
func failing(err error) (func(context.Context) (int, error), *int) {
	calls := new(int)
	return func(context.Context) (int, error) {
		*calls++
		return *calls, err
	}, calls
}

// asError returns err as a *retry.Error, failing the test otherwise.
func asError(t testing.TB, err error) *retry.Error {
	t.Helper()
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	return re
}

// notes records the attempts reported through WithNotify.
type notes struct{ list []retry.RetryInfo }

func (n *notes) hook(_ context.Context, a retry.RetryInfo) { n.list = append(n.list, a) }

func (n *notes) delays() []time.Duration {
	ds := make([]time.Duration, len(n.list))
	for i, a := range n.list {
		ds[i] = a.Wait
	}
	return ds
}

func sum(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// pause blocks for d of virtual time. It is only called inside a synctest
// bubble, where the clock is fake and nothing really sleeps.
func pause(d time.Duration) { <-time.After(d) }

// seeded returns a fresh random source for reproducible jitter.
func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
