package httpx_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPUTBodyWholeOnEveryAttempt(t *testing.T) {
	e := newEnv(t)
	want := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	var n, whole atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err == nil && string(b) == want && r.ContentLength == int64(len(want)) {
			whole.Add(1)
		}
		if n.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(204)
	})
	req, err := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader(want))
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, fast...)
	require.NoError(t, err)
	assert.Equal(t, 204, resp.StatusCode)
	readClose(t, resp)
	assert.EqualValues(t, 3, n.Load())
	assert.EqualValues(t, 3, whole.Load(), "every attempt carried the whole body")
}

func TestNonRewindableBodySentOnce(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{503, 200}}
	srv, _ := e.server(s.ServeHTTP)
	body := newBody("once")
	req, err := http.NewRequest(http.MethodPut, srv.URL, nil)
	require.NoError(t, err)
	req.Body = body // no GetBody: cannot be rewound
	req.ContentLength = 4

	resp, err := httpx.Do(e.client(), req, fast...)
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode, "sent once, the status comes back")
	readClose(t, resp)
	assert.EqualValues(t, 1, s.n.Load())
	assert.True(t, body.closed.Load())

	t.Run("transport error", func(t *testing.T) {
		body := newBody("once")
		req, err := http.NewRequest(http.MethodPut, "http://"+refusedAddr(t), nil)
		require.NoError(t, err)
		req.Body = body
		resp, err := httpx.Do(e.client(), req, fast...)
		re := requireNoResponse(t, resp, err)
		assert.Equal(t, 1, re.Attempts)
		assert.ErrorIs(t, err, retry.ErrNotIdempotent)
		assert.ErrorIs(t, err, syscall.ECONNREFUSED)
		assert.True(t, body.closed.Load())
	})
}

// bodyHolder is a RoundTripper that records every response body it hands
// out, to tell which are still open.
type bodyHolder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*heldBody
}

type heldBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *heldBody) Close() error { b.closed.Store(true); return b.ReadCloser.Close() }

func (bt *bodyHolder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := bt.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	tb := &heldBody{ReadCloser: resp.Body}
	resp.Body = tb
	bt.mu.Lock()
	bt.bodies = append(bt.bodies, tb)
	bt.mu.Unlock()
	return resp, nil
}

// open counts the bodies not closed yet.
func (bt *bodyHolder) open() int {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	n := 0
	for _, b := range bt.bodies {
		if !b.closed.Load() {
			n++
		}
	}
	return n
}

// TestRetriedResponseReleasedBeforeTheWait: a response that is retried is
// read and closed before the wait begins (the notify hook runs just before
// it), so its keep-alive connection serves other requests during a long
// Retry-After instead of sitting idle until the next attempt. A response
// whose body is larger than the drain limit keeps its connection, but its
// whole body still reaches the caller when it is the last one.
func TestRetriedResponseReleasedBeforeTheWait(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{503, 503, 200}, header: http.Header{"Retry-After": {"0"}}}
	srv, conns := e.server(s.ServeHTTP)
	bt := &bodyHolder{base: e.tr}
	var openAtNotify []int
	opts := append(fast[:len(fast):len(fast)], retry.WithNotify(func(context.Context, retry.RetryInfo) {
		openAtNotify = append(openAtNotify, bt.open())
	}))
	resp, err := httpx.Do(&http.Client{Transport: bt}, getURL(t, srv.URL), opts...)
	require.NoError(t, err)
	assert.Equal(t, "OK", readClose(t, resp))
	assert.Equal(t, []int{0, 0}, openAtNotify, "no response body open when a wait begins")
	assert.EqualValues(t, 1, conns.Load())

	t.Run("last response intact", func(t *testing.T) {
		for i, size := range []int{0, 10, 64 << 10, 64<<10 + 1, 1 << 20, 0, 10, 64 << 10, 64<<10 + 1, 1 << 20} {
			big := strings.Repeat("x", size)
			srv, _ := e.server(func(w http.ResponseWriter, _ *http.Request) {
				if i >= 5 { // said in advance, or streamed
					w.Header().Set("Content-Length", strconv.Itoa(size))
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, big)
			})
			resp, err := httpx.Do(e.client(), getURL(t, srv.URL), retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, big, readClose(t, resp), "size %d", size)
		}
	})
}
