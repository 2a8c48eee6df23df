package benchmarks

// The contract: before any benchmark number is trusted, every adapter must
// do the same work as every other adapter of its workload. These tests are
// what `go test ./...` runs in this module; the benchmarks run only with
// -bench.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContractRetry(t *testing.T) {
	cases := []struct {
		name      string
		op        func() Op
		wantCalls int
		wantValue int
		wantErr   error // nil: success expected
	}{
		{"success on the first call", func() Op { return Succeed }, 1, 1, nil},
		{"3 failures then success", func() Op { return FailThenSucceed(3) }, 4, 4, nil},
		{"permanent error", func() Op { return FailPermanently }, 1, 0, ErrPermanent},
		{"always failing", func() Op { return FailThenSucceed(1 << 30) }, MaxAttempts, 0, ErrTransient},
	}
	for _, lib := range retryLibs(t) {
		for _, tc := range cases {
			t.Run(lib.lib+"/"+tc.name, func(t *testing.T) {
				calls := 0
				v, err := lib.run(context.Background(), Counted(tc.op(), &calls))
				assert.Equal(t, tc.wantCalls, calls, "calls of the operation")
				if tc.wantErr == nil {
					require.NoError(t, err)
					assert.Equal(t, tc.wantValue, v)
					return
				}
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.wantErr, "the operation's error must stay reachable")
				if tc.wantErr == ErrPermanent {
					assert.False(t, errors.Is(err, ErrTransient))
				}
			})
		}
	}
}

func TestContractRetryReuse(t *testing.T) {
	// An adapter built once serves many calls, as the benchmarks use it.
	for _, lib := range retryLibs(t) {
		t.Run(lib.lib, func(t *testing.T) {
			calls := 0
			op := Counted(FailThenSucceed(3), &calls)
			for range 10 {
				_, err := lib.run(context.Background(), op)
				require.NoError(t, err)
			}
			assert.Equal(t, 40, calls)
		})
	}
}

func TestContractBreaker(t *testing.T) {
	for _, lib := range breakerLibs(t, BreakerThreshold, BreakerThreshold) {
		if lib.lib == libDirect {
			continue
		}
		t.Run(lib.lib+"/opens after threshold consecutive failures", func(t *testing.T) {
			calls := 0
			op := Counted(FailThenSucceed(1<<30), &calls)
			for i := range BreakerThreshold {
				require.True(t, lib.br.Closed(), "closed before failure %d", i+1)
				_, err := lib.br.Run(context.Background(), op)
				require.ErrorIs(t, err, ErrTransient)
			}
			assert.False(t, lib.br.Closed(), "open after %d failures", BreakerThreshold)
			_, err := lib.br.Run(context.Background(), op)
			require.Error(t, err)
			assert.NotErrorIs(t, err, ErrTransient, "rejected without calling the operation")
			assert.Equal(t, BreakerThreshold, calls)
		})
	}
	for _, lib := range breakerLibs(t, BreakerThreshold, neverTrips) {
		t.Run(lib.lib+"/stays closed with 10% failures", func(t *testing.T) {
			calls := 0
			op := Counted(FailEvery(10), &calls)
			failures := 0
			for range 1000 {
				if _, err := lib.br.Run(context.Background(), op); err != nil {
					require.ErrorIs(t, err, ErrTransient)
					failures++
				}
			}
			assert.True(t, lib.br.Closed())
			assert.Equal(t, 1000, calls)
			assert.Equal(t, 100, failures)
		})
		t.Run(lib.lib+"/success passes through", func(t *testing.T) {
			calls := 0
			v, err := lib.br.Run(context.Background(), Counted(Succeed, &calls))
			require.NoError(t, err)
			assert.Equal(t, 1, v)
			assert.Equal(t, 1, calls)
		})
	}
}

func TestContractBudget(t *testing.T) {
	for _, lib := range budgetLibs(t, 100, 1, 1e9, true) {
		t.Run(lib.lib+"/one failure then success", func(t *testing.T) {
			calls := 0
			op := Counted(FailThenSucceed(1), &calls)
			for range 10 {
				v, err := lib.run(context.Background(), op)
				require.NoError(t, err)
				assert.Positive(t, v)
			}
			assert.Equal(t, 20, calls)
		})
	}
	// A budget of 2 tokens with no refill: the first call may retry twice,
	// later calls not at all. failsafe-go is left out: its budget limits the
	// share of concurrent retries and never refuses a lone call.
	for _, lib := range budgetLibs(t, 2, 0, 0, false) {
		if lib.lib == libDirect {
			continue
		}
		t.Run(lib.lib+"/refuses retries once empty", func(t *testing.T) {
			calls := 0
			op := Counted(FailThenSucceed(1<<30), &calls)
			_, err := lib.run(context.Background(), op)
			require.ErrorIs(t, err, ErrTransient)
			assert.Equal(t, 3, calls, "first attempt plus the 2 retries the budget held")
			_, err = lib.run(context.Background(), op)
			require.ErrorIs(t, err, ErrTransient)
			assert.Equal(t, 4, calls, "first attempt only")
		})
	}
}

func TestContractHTTP(t *testing.T) {
	cases := []struct {
		name         string
		failures     int
		wantRequests int64
		wantStatus   int // 0: an error or a 503, whichever the library returns
	}{
		{"200", 0, 1, 200},
		{"503, 503, 200", 2, 3, 200},
		{"always 503", 1 << 30, MaxAttempts, 0},
	}
	for _, lib := range httpLibs(t, NewNetHTTPLoop()) {
		for _, tc := range cases {
			t.Run(lib.lib+"/"+tc.name, func(t *testing.T) {
				srv := NewFlakyServer(tc.failures)
				defer srv.Close()
				status, err := lib.get(context.Background(), srv.URL)
				assert.Equal(t, tc.wantRequests, srv.Requests.Load(), "requests served")
				if tc.wantStatus != 0 {
					require.NoError(t, err)
					assert.Equal(t, tc.wantStatus, status)
					return
				}
				if err == nil {
					assert.Equal(t, 503, status)
				}
			})
		}
	}
	// Retried responses must be drained and closed so that keep-alive reuses
	// the connection. failsafe-go's RoundTripper does not close the
	// responses it retries, so each retry opens a new connection: that is
	// part of what its numbers measure, and it is logged, not asserted.
	for _, lib := range httpLibs(t, NewNetHTTPLoop()) {
		t.Run(lib.lib+"/connection reuse", func(t *testing.T) {
			srv := NewFlakyServer(2)
			defer srv.Close()
			for range 10 {
				status, err := lib.get(context.Background(), srv.URL)
				require.NoError(t, err)
				require.Equal(t, 200, status)
			}
			assert.EqualValues(t, 30, srv.Requests.Load())
			if lib.lib == libFailsafe {
				t.Logf("%s: %d connections for 30 requests", lib.lib, srv.Conns.Load())
				return
			}
			assert.EqualValues(t, 1, srv.Conns.Load(), "connections for 30 requests")
		})
	}
	t.Run("direct/plain net/http", func(t *testing.T) {
		srv := NewFlakyServer(0)
		defer srv.Close()
		status, err := NewNetHTTP()(context.Background(), srv.URL)
		require.NoError(t, err)
		assert.Equal(t, 200, status)
		assert.EqualValues(t, 1, srv.Requests.Load())
	})
}

func TestContractHedge(t *testing.T) {
	t.Run("the first copy answers before the delay: no hedge", func(t *testing.T) {
		for _, lib := range hedgeLibs(t, time.Hour) {
			t.Run(lib.lib, func(t *testing.T) {
				for range 10 {
					calls := 0
					v, err := lib.run(context.Background(), Counted(Succeed, &calls))
					require.NoError(t, err)
					assert.Equal(t, 1, v)
					assert.Equal(t, 1, calls, "copies started")
				}
			})
		}
	})
	t.Run("the first copy blocks: one hedge wins, the first is cancelled", func(t *testing.T) {
		for _, lib := range hedgeLibs(t, 0) {
			t.Run(lib.lib, func(t *testing.T) {
				var calls atomic.Int64
				cancelled := make(chan struct{}, 1)
				op := hedgeBlockFirst(&calls, cancelled)
				for i := range 10 {
					v, err := lib.run(context.Background(), op)
					require.NoError(t, err)
					assert.Equal(t, 2*(i+1), v, "the hedge's value")
					// failsafe-go returns before the loser leaves; retrykit after.
					// Either way the loser's context is cancelled: it leaves.
					<-cancelled
					assert.Equal(t, int64(2*(i+1)), calls.Load(), "copies started")
				}
			})
		}
	})
}
