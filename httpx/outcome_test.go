package httpx_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// TestOutcomeTellsEndingsApart: each way the retries can end on a status
// is told apart through Outcome, with Do and with the transport (behind a
// client with a Timeout, which wraps the body), and a success has none.
func TestOutcomeTellsEndingsApart(t *testing.T) {
	retryAfter := http.Header{"Retry-After": {"120"}}
	tests := []struct {
		name       string
		statuses   []int
		header     http.Header
		opts       func(t *testing.T) []retry.Option
		deadline   time.Duration // of the request's context, when not 0
		reason     error
		word       string
		attempts   int
		retryAfter time.Duration
	}{
		{name: "attempts used up", statuses: []int{503}, reason: retry.ErrExhausted, word: "exhausted", attempts: 3},
		{name: "status not retried", statuses: []int{503, 404}, reason: retry.ErrPermanent, word: "permanent", attempts: 2},
		{name: "Retry-After beyond the maximum delay", statuses: []int{503}, header: retryAfter,
			opts:   func(*testing.T) []retry.Option { return []retry.Option{retry.WithMaxDelay(30 * time.Second)} },
			reason: retry.ErrHintTooLong, word: "hint_too_long", attempts: 1, retryAfter: 2 * time.Minute},
		{name: "budget refused", statuses: []int{503},
			opts: func(t *testing.T) []retry.Option {
				b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
				require.NoError(t, err)
				return []retry.Option{retry.WithBudget(b)}
			},
			reason: retry.ErrBudgetExhausted, word: "budget", attempts: 2},
		{name: "breaker opened", statuses: []int{503},
			opts: func(t *testing.T) []retry.Option {
				b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2})
				require.NoError(t, err)
				return []retry.Option{retry.WithBreaker(b)}
			},
			reason: retry.ErrCircuitOpen, word: "circuit_open", attempts: 2},
		{name: "elapsed limit", statuses: []int{503},
			opts: func(*testing.T) []retry.Option {
				return []retry.Option{retry.WithBackoff(retry.Constant(time.Hour)), retry.WithMaxElapsed(time.Minute)}
			},
			reason: retry.ErrMaxElapsed, word: "max_elapsed", attempts: 1},
		{name: "no room before the deadline", statuses: []int{503}, deadline: time.Hour,
			opts: func(*testing.T) []retry.Option {
				return []retry.Option{retry.WithBackoff(retry.Constant(2 * time.Hour))}
			},
			reason: context.DeadlineExceeded, word: "deadline", attempts: 1},
		{name: "success", statuses: []int{503, 200}, attempts: 2},
	}
	for _, tt := range tests {
		for _, via := range []string{"Do", "transport"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				e := newEnv(t)
				s := &script{statuses: tt.statuses, header: tt.header}
				srv, _ := e.server(s.ServeHTTP)
				opts := []retry.Option{retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)), retry.WithMaxDelay(0), retry.WithJitter(retry.NoJitter)}
				if tt.opts != nil {
					opts = append(opts, tt.opts(t)...)
				}
				ctx := context.Background()
				if tt.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.deadline)
					defer cancel()
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				var resp *http.Response
				if via == "Do" {
					resp, err = httpx.Do(e.client(), req, opts...)
				} else {
					c := &http.Client{Transport: httpx.NewTransport(e.tr, opts...), Timeout: 24 * time.Hour}
					resp, err = c.Do(req)
				}
				require.NoError(t, err)
				defer resp.Body.Close()
				assert.Equal(t, tt.attempts, int(s.n.Load()))
				got, ok := httpx.Outcome(resp)
				if tt.reason == nil {
					assert.False(t, ok)
					assert.Nil(t, got)
					assert.Equal(t, 200, resp.StatusCode)
					return
				}
				require.True(t, ok)
				assert.ErrorIs(t, got.Reason, tt.reason)
				assert.Equal(t, tt.word, retry.ReasonOf(got))
				assert.Equal(t, tt.attempts, got.Attempts)
				assert.Equal(t, tt.retryAfter, got.Hint)
				var se *httpx.StatusError
				require.ErrorAs(t, got.Last, &se)
				assert.Equal(t, resp.StatusCode, se.StatusCode)
				assert.Equal(t, http.StatusText(resp.StatusCode), readClose(t, resp), "the body is still readable")
			})
		}
	}
}

// TestOutcomeOfOtherResponses: a nil response, one without a request and
// one from a plain client have no outcome.
func TestOutcomeOfOtherResponses(t *testing.T) {
	for _, resp := range []*http.Response{nil, {StatusCode: 503}, {StatusCode: 503, Request: &http.Request{}}} {
		got, ok := httpx.Outcome(resp)
		assert.False(t, ok)
		assert.Nil(t, got)
	}
}
