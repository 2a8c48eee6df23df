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
