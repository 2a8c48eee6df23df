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
