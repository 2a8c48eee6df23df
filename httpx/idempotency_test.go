package httpx_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPOSTIdempotency(t *testing.T) {
	cases := []struct {
		name     string
		header   http.Header
		statuses []int
		attempts int32
		status   int
		sent     string // the Idempotency-Key the server saw
	}{
		{"no key, 503 not retried", nil, []int{503, 200}, 1, 503, ""},
		{"no key, 500 not retried", nil, []int{500, 200}, 1, 500, ""},
		{"no key, 429 retried", nil, []int{429, 200}, 2, 200, ""},
		{"key, 503 retried", http.Header{"Idempotency-Key": {"k1"}}, []int{503, 503, 200}, 3, 200, "k1"},
		{"X- key, 503 retried", http.Header{"X-Idempotency-Key": {"k2"}}, []int{503, 200}, 2, 200, ""},
		{"nil-valued key, opt-in not sent", http.Header{"Idempotency-Key": nil}, []int{503, 503, 200}, 3, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := &script{statuses: tc.statuses}
			var sawKey atomic.Value
			var sawNil atomic.Bool
			srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
				sawKey.Store(r.Header.Get("Idempotency-Key"))
				if _, ok := r.Header["Idempotency-Key"]; !ok {
					sawNil.Store(true)
				}
				b, _ := io.ReadAll(r.Body)
				if string(b) != `{"item":1}` {
					w.WriteHeader(400)
					return
				}
				s.ServeHTTP(w, r)
			})
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"item":1}`))
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header[k] = v
			}

			resp, err := httpx.Do(e.client(), req, fast...)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			readClose(t, resp)
			assert.Equal(t, tc.attempts, s.n.Load())
			assert.Equal(t, tc.sent, sawKey.Load())
			if tc.sent == "" {
				assert.True(t, sawNil.Load(), "no Idempotency-Key on the wire")
			}
		})
	}
}

func TestPOSTWithoutKeyNotRetriedAfterCut(t *testing.T) {
	e := newEnv(t)
	var n atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		hijackAndClose(w, false)
	})
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("pay 100"))
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, fast...)
	re := requireNoResponse(t, resp, err)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent, "the server may have processed it: never sent twice")
	assert.EqualValues(t, 1, n.Load())
}

// A POST without an idempotency key is retried on 429: the server says it
// did not process it.
func TestVirtualTimePOST429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{answer: func(n int, r *http.Request) (*http.Response, error) {
			if n == 1 {
				return status(429, "3"), nil
			}
			return status(201), nil
		}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://api.test/orders", strings.NewReader("{}"))
		require.NoError(t, err)
		start := time.Now()
		resp, err := httpx.NewTransport(rt, retry.WithExactHints()).RoundTrip(req)
		require.NoError(t, err)
		assert.Equal(t, 201, resp.StatusCode)
		assert.Equal(t, 3*time.Second, time.Since(start), "429 means unprocessed: a POST waits and retries")
		readClose(t, resp)
	})
}

// A refusal to send a request again is not "permanent": it ends with
// ErrNotIdempotent, and its message says what is refused and what would
// allow the retry. A status that is not retried at all stays permanent.
func TestRefusalSaysWhatWouldAllowTheRetry(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{503}}
	srv, _ := e.server(s.ServeHTTP)
	cut, _ := e.server(func(w http.ResponseWriter, _ *http.Request) { hijackAndClose(w, false) })
	notFound, _ := e.server(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	keyHints := []string{"PATCH", "may have processed", "Idempotency-Key", "idempotent method", `Header["Idempotency-Key"] = nil`}
	bodyHints := []string{"body cannot be sent again", "GetBody"}

	t.Run("PATCH answered 503: the response and its Outcome", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPatch, srv.URL, strings.NewReader("x"))
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, fast...)
		require.NoError(t, err)
		readClose(t, resp)
		o, ok := httpx.Outcome(resp)
		require.True(t, ok)
		assertRefused(t, o, keyHints)
		var se *httpx.StatusError
		require.ErrorAs(t, o.Last, &se)
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
	})
	t.Run("PATCH cut: the error", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPatch, cut.URL, strings.NewReader("x"))
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, fast...)
		assertRefused(t, requireNoResponse(t, resp, err), keyHints)
	})
	t.Run("a body that cannot be read again", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPut, srv.URL, nil)
		require.NoError(t, err)
		req.Body = newBody("x")
		resp, err := httpx.Do(e.client(), req, fast...)
		require.NoError(t, err)
		readClose(t, resp)
		o, ok := httpx.Outcome(resp)
		require.True(t, ok)
		assertRefused(t, o, bodyHints)

		req, err = http.NewRequest(http.MethodPut, cut.URL, nil)
		require.NoError(t, err)
		req.Body = newBody("x")
		resp, err = httpx.Do(e.client(), req, fast...)
		assertRefused(t, requireNoResponse(t, resp, err), bodyHints)
	})
	t.Run("404 is permanent, not a refusal", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, notFound.URL, strings.NewReader("x"))
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, fast...)
		require.NoError(t, err)
		readClose(t, resp)
		o, ok := httpx.Outcome(resp)
		require.True(t, ok)
		assert.ErrorIs(t, o, retry.ErrPermanent)
		assert.NotContains(t, o.Error(), "Idempotency-Key")
	})
}

// assertRefused checks a call that ended because the request could not be
// sent again.
func assertRefused(t *testing.T, e *retry.Error, hints []string) {
	t.Helper()
	assert.Equal(t, 1, e.Attempts)
	assert.ErrorIs(t, e, retry.ErrNotIdempotent)
	assert.NotErrorIs(t, e, retry.ErrPermanent)
	assert.Equal(t, "not_idempotent", retry.ReasonOf(e))
	assert.NotContains(t, e.Error(), "permanent")
	for _, h := range hints {
		assert.Contains(t, e.Error(), h)
	}
}
