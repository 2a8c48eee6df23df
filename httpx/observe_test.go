package httpx_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// countingObserver counts the events of an Observer.
type countingObserver struct{ starts, ends, retries, done atomic.Int32 }

func (c *countingObserver) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, _ retry.AttemptStartInfo) context.Context {
			c.starts.Add(1)
			return ctx
		},
		AttemptEnd:     func(context.Context, retry.AttemptEndInfo) { c.ends.Add(1) },
		RetryScheduled: func(context.Context, retry.RetryInfo) { c.retries.Add(1) },
		Done:           func(context.Context, retry.DoneInfo) { c.done.Add(1) },
	}
}

// TestRetryAfterIsNotReportedAsACall: deciding whether a status with a
// Retry-After header is retried is not a call the observer hears of.
func TestRetryAfterIsNotReportedAsACall(t *testing.T) {
	e := newEnv(t)
	for _, via := range []string{"Do", "transport"} {
		t.Run(via, func(t *testing.T) {
			var c countingObserver
			srv, _ := e.server((&script{statuses: []int{503, 200}, header: http.Header{"Retry-After": {"0"}}}).ServeHTTP)
			opts := []retry.Option{retry.WithObserver(c.observer())}
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			var resp *http.Response
			if via == "Do" {
				resp, err = httpx.Do(e.client(), req, opts...)
			} else {
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, opts...)}).Do(req)
			}
			require.NoError(t, err)
			readClose(t, resp)
			assert.Equal(t, 200, resp.StatusCode)
			assert.EqualValues(t, 2, c.starts.Load())
			assert.EqualValues(t, 2, c.ends.Load())
			assert.EqualValues(t, 1, c.retries.Load())
			assert.EqualValues(t, 1, c.done.Load())
		})
	}
}

// TestOutcomeDoesNotLeakToALaterRequest: a request built from the context
// of an earlier response's request inherits its outcome value, but its own
// response, a success, has no outcome; nor does a failure of its own read
// as the earlier one.
func TestOutcomeDoesNotLeakToALaterRequest(t *testing.T) {
	e := newEnv(t)
	for _, via := range []string{"Do", "transport"} {
		t.Run(via, func(t *testing.T) {
			srv, _ := e.server((&script{statuses: []int{404, 200, 404}}).ServeHTTP)
			call := func(ctx context.Context) *http.Response {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				var resp *http.Response
				if via == "Do" {
					resp, err = httpx.Do(e.client(), req, fast...)
				} else {
					resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, fast...)}).Do(req)
				}
				require.NoError(t, err)
				readClose(t, resp)
				return resp
			}
			first := call(context.Background())
			require.Equal(t, 404, first.StatusCode)
			e1, ok := httpx.Outcome(first)
			require.True(t, ok)
			assert.ErrorIs(t, e1, retry.ErrPermanent)

			second := call(first.Request.Context())
			require.Equal(t, 200, second.StatusCode)
			e2, ok := httpx.Outcome(second)
			assert.False(t, ok, "a success has no outcome")
			assert.Nil(t, e2)

			third := call(second.Request.Context())
			require.Equal(t, 404, third.StatusCode)
			e3, ok := httpx.Outcome(third)
			require.True(t, ok)
			assert.NotSame(t, e1, e3, "the third response's own outcome")
		})
	}
}
