package httpx_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusesNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 422, 501} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			e := newEnv(t)
			s := &script{statuses: []int{code, 200}}
			srv, _ := e.server(s.ServeHTTP)
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)

			resp, err := httpx.Do(e.client(), req, fast...)
			require.NoError(t, err, "a final status comes back as a response")
			assert.Equal(t, code, resp.StatusCode)
			assert.Equal(t, http.StatusText(code), readClose(t, resp))
			assert.EqualValues(t, 1, s.n.Load())
		})
	}
}

func TestStatusesRetried(t *testing.T) {
	for _, code := range []int{408, 429, 500, 502, 503, 504, 505, 599} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			e := newEnv(t)
			s := &script{statuses: []int{code}}
			srv, conns := e.server(s.ServeHTTP)
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)

			resp, err := httpx.Do(e.client(), req, append(fast, retry.WithMaxAttempts(3))...)
			require.NoError(t, err, "exhausted retries on a status return the last response")
			assert.Equal(t, code, resp.StatusCode)
			assert.Equal(t, http.StatusText(code), readClose(t, resp), "the last body is unread and whole")
			assert.EqualValues(t, 3, s.n.Load())
			if code != 408 { // net/http's server closes the connection after a 408
				assert.EqualValues(t, 1, conns.Load())
			}
		})
	}
}

func TestRetryStatuses(t *testing.T) {
	t.Run("custom set", func(t *testing.T) {
		e := newEnv(t)
		s := &script{statuses: []int{404, 503, 200}}
		srv, _ := e.server(s.ServeHTTP)
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, append(fast, retry.WithClassifier(httpx.RetryStatuses(404)))...)
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode, "503 is not in the custom set")
		readClose(t, resp)
		assert.EqualValues(t, 2, s.n.Load())
	})
	t.Run("off, even with Retry-After", func(t *testing.T) {
		e := newEnv(t)
		s := &script{statuses: []int{503, 200}, header: http.Header{"Retry-After": {"0"}}}
		srv, _ := e.server(s.ServeHTTP)
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, append(fast, retry.WithClassifier(httpx.RetryStatuses()))...)
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
		readClose(t, resp)
		assert.EqualValues(t, 1, s.n.Load())
	})
	t.Run("connection errors still retried", func(t *testing.T) {
		e := newEnv(t)
		addr := refusedAddr(t)
		var attempts int
		req, err := http.NewRequest(http.MethodGet, "http://"+addr, nil)
		require.NoError(t, err)
		_, err = httpx.Do(e.client(), req, append(fast,
			retry.WithClassifier(httpx.RetryStatuses()), retry.WithMaxAttempts(3),
			retry.WithNotify(func(context.Context, retry.RetryInfo) { attempts++ }))...)
		require.ErrorIs(t, err, syscall.ECONNREFUSED)
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, 2, attempts)
	})
}

func TestRetryAfterBeyondMaxDelay(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"120"}}}
	srv, _ := e.server(s.ServeHTTP)
	c := &http.Client{Transport: httpx.NewTransport(e.tr, retry.WithMaxDelay(time.Minute))}

	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "120", resp.Header.Get("Retry-After"), "the header comes back intact")
	assert.Equal(t, http.StatusText(http.StatusTooManyRequests), readClose(t, resp))
	assert.EqualValues(t, 1, s.n.Load())
}

func TestRetryAfterOnTheWire(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		e := newEnv(t)
		s := &script{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"2"}}}
		srv, _ := e.server(s.ServeHTTP)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		var asked []time.Duration
		resp, err := httpx.Do(e.client(), req, retry.WithExactHints(),
			retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
				asked = append(asked, a.Wait)
				cancel() // the wait itself is asserted in virtual time elsewhere
			}))
		require.Nil(t, resp)
		require.ErrorIs(t, err, context.Canceled)
		var se *httpx.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusTooManyRequests, se.StatusCode)
		assert.Equal(t, 2*time.Second, se.RetryAfter)
		assert.Equal(t, []time.Duration{2 * time.Second}, asked)
	})
	t.Run("date in the past", func(t *testing.T) {
		e := newEnv(t)
		past := time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)
		s := &script{statuses: []int{429, 503, 200}, header: http.Header{"Retry-After": {past}}}
		srv, conns := e.server(s.ServeHTTP)
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		var asked []time.Duration
		resp, err := httpx.Do(e.client(), req, retry.WithExactHints(),
			retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { asked = append(asked, a.Wait) }))
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		readClose(t, resp)
		assert.Equal(t, []time.Duration{0, 0}, asked, "a past date means no wait")
		assert.EqualValues(t, 1, conns.Load())
	})
}
