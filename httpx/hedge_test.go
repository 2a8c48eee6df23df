package httpx_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowFirst is a handler whose first request of each pair (the first copy
// to arrive) stays until the client gives it up, and whose others answer
// at once: a server slow on a chosen half of its calls. It records the
// first requests' cancellations as the server sees them.
type slowFirst struct {
	n         atomic.Int32
	cancelled chan struct{} // a token per slow request the client gave up
}

func newSlowFirst() *slowFirst { return &slowFirst{cancelled: make(chan struct{}, 100)} }

func (s *slowFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/warm" && s.n.Add(1)%2 == 1 {
		<-r.Context().Done()
		s.cancelled <- struct{}{}
		return
	}
	_, _ = io.WriteString(w, "fast")
}

// hedgeObserver records the hedging the observer's events show.
type hedgeObserver struct {
	mu                     sync.Mutex
	starts, hedges, losers int
	done                   []retry.DoneInfo
}

func (o *hedgeObserver) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.starts++
			if a.Hedge {
				o.hedges++
			}
			return ctx
		},
		AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if a.Lost {
				o.losers++
			}
		},
		Done: func(_ context.Context, d retry.DoneInfo) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.done = append(o.done, d)
		},
	}
}

// TestHedgeLoserCancelledHTTP2 sends hedged GETs over HTTP/2 to a server
// slow on half its calls: each call wins with its fast copy, the slow
// copy is cancelled (the server sees its context end), and every copy of
// every call shares one connection: a cancelled loser resets its stream,
// not the connection. (A first request opens the connection: two
// requests sent at once on none may open two.)
func TestHedgeLoserCancelledHTTP2(t *testing.T) {
	e := newEnv(t)
	h := newSlowFirst()
	srv, conns := e.h2cServer(h.ServeHTTP)
	resp, err := e.client().Get(srv.URL + "/warm")
	require.NoError(t, err)
	readClose(t, resp)
	obs := &hedgeObserver{}
	const calls = 5
	for range calls {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, retry.WithHedge(0, 2), retry.WithObserver(obs.observer()))
		require.NoError(t, err)
		assert.Equal(t, "fast", readClose(t, resp))
		assert.Equal(t, 2, resp.ProtoMajor)
	}
	for range calls {
		<-h.cancelled // the server sees every slow copy cancelled
	}
	assert.EqualValues(t, 1, conns.Load(), "one connection for every copy")
	assert.Equal(t, 2*calls, obs.starts)
	assert.Equal(t, calls, obs.hedges)
	assert.Equal(t, calls, obs.losers)
	require.Len(t, obs.done, calls)
	for _, d := range obs.done {
		assert.Equal(t, 1, d.Hedges)
		assert.NoError(t, d.Err)
	}
}

// TestHedgeFailedCopyConnectionReused sends hedged GETs over HTTP/1.1:
// one copy fails with a 503 while the other still runs, then the other
// wins. The failed copy's response is read and closed as it arrives, so
// its connection serves the next call: two connections (one per copy in
// flight) serve every call.
func TestHedgeFailedCopyConnectionReused(t *testing.T) {
	e := newEnv(t)
	failed := make(chan struct{}, 1)
	var n atomic.Int32
	srv, conns := e.server(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			<-failed // the client has settled the other copy
			_, _ = io.WriteString(w, "slow but first")
			return
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	obs := &retry.Observer{AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) {
		if a.Err != nil {
			failed <- struct{}{}
		}
	}}
	const calls = 5
	for range calls {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, retry.WithHedge(0, 2), retry.WithMaxAttempts(2), retry.WithObserver(obs))
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "slow but first", readClose(t, resp))
	}
	assert.EqualValues(t, 2*calls, n.Load())
	assert.EqualValues(t, 2, conns.Load(), "the failed copies' connections are reused")
}

// keptBodies wraps a RoundTripper and records the body of every
// response it returns.
type keptBodies struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*keptBody
}

type keptBody struct {
	io.ReadCloser
	resp   *http.Response
	closed atomic.Bool
}

func (b *keptBody) Close() error { b.closed.Store(true); return b.ReadCloser.Close() }

func (tb *keptBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tb.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b := &keptBody{ReadCloser: resp.Body, resp: resp}
	resp.Body = b
	tb.mu.Lock()
	tb.bodies = append(tb.bodies, b)
	tb.mu.Unlock()
	return resp, nil
}

// TestHedgeLosersClosed races two copies of each call against a server
// that answers both at once: whichever wins, and whether the other was
// cancelled in flight or succeeded too late, every response that is not
// handed back is closed before Do returns, through the transport of
// NewTransport as through Do.
func TestHedgeLosersClosed(t *testing.T) {
	e := newEnv(t)
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	for _, viaTransport := range []bool{false, true} {
		tb := &keptBodies{base: e.tr}
		opts := []retry.Option{retry.WithHedge(0, 2)}
		c := &http.Client{Transport: tb}
		if viaTransport {
			c = &http.Client{Transport: httpx.NewTransport(tb, opts...)}
		}
		for range 30 {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			var resp *http.Response
			if viaTransport {
				resp, err = c.Do(req)
			} else {
				resp, err = httpx.Do(c, req, opts...)
			}
			require.NoError(t, err)
			tb.mu.Lock()
			for _, b := range tb.bodies {
				if b.resp != resp {
					assert.True(t, b.closed.Load(), "a loser's response is closed")
				}
			}
			tb.bodies = tb.bodies[:0]
			tb.mu.Unlock()
			assert.Equal(t, "ok", readClose(t, resp))
		}
	}
}

// slowRT is a RoundTripper for virtual time: every request waits a
// second (or its cancellation) and then succeeds. It counts the requests
// and records their bodies.
type slowRT struct {
	mu        sync.Mutex
	bodies    []string
	cancelled int
}

func (s *slowRT) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	select {
	case <-time.After(time.Second):
	case <-r.Context().Done():
		s.mu.Lock()
		s.cancelled++
		s.mu.Unlock()
		return nil, r.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

// TestHedgeOnlyWhatMaySendTwice sends slow requests with hedging on: an
// idempotent one (or one with an idempotency key) gets a second copy
// after the delay, each copy with its own body; a POST without a key, or
// a body that cannot be produced again, is sent exactly once, however
// slow, through Do, the transport and a request's WithOptions alike.
func TestHedgeOnlyWhatMaySendTwice(t *testing.T) {
	hedge := retry.WithHedge(10*time.Millisecond, 2)
	tests := []struct {
		name   string
		method string
		key    bool
		body   func() io.Reader
		sends  int
	}{
		{"GET", http.MethodGet, false, nil, 2},
		{"DELETE", http.MethodDelete, false, nil, 2},
		{"PUT with a body", http.MethodPut, false, func() io.Reader { return strings.NewReader("put") }, 2},
		{"POST with a key", http.MethodPost, true, func() io.Reader { return bytes.NewReader([]byte("order")) }, 2},
		{"POST", http.MethodPost, false, func() io.Reader { return strings.NewReader("order") }, 1},
		{"PATCH", http.MethodPatch, false, nil, 1},
		{"PUT with a body GetBody cannot produce", http.MethodPut, false, func() io.Reader { return io.MultiReader(strings.NewReader("put")) }, 1},
	}
	for _, tt := range tests {
		for _, via := range []string{"Do", "transport", "WithOptions"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					rt := &slowRT{}
					ctx := context.Background()
					if via == "WithOptions" {
						ctx = httpx.WithOptions(ctx, hedge)
					}
					var body io.Reader
					if tt.body != nil {
						body = tt.body()
					}
					req, err := http.NewRequestWithContext(ctx, tt.method, "http://api.test/", body)
					require.NoError(t, err)
					if tt.key {
						req.Header.Set("Idempotency-Key", "k1")
					}
					var resp *http.Response
					switch via {
					case "Do":
						resp, err = httpx.Do(&http.Client{Transport: rt}, req, hedge)
					case "transport":
						resp, err = (&http.Client{Transport: httpx.NewTransport(rt, hedge)}).Do(req)
					default:
						resp, err = httpx.Do(&http.Client{Transport: rt}, req)
					}
					require.NoError(t, err)
					assert.Equal(t, "ok", readClose(t, resp))
					require.Len(t, rt.bodies, tt.sends)
					assert.Equal(t, tt.sends-1, rt.cancelled, "the losing copy is cancelled")
					if tt.body != nil {
						for _, b := range rt.bodies {
							assert.Equal(t, rt.bodies[0], b, "every copy sends the whole body")
						}
						assert.NotEmpty(t, rt.bodies[0])
					}
				})
			})
		}
	}
}

// TestHedgeRetryAfterStopsHedging: the hedge is answered 503 with
// Retry-After while the first copy still runs. Hedging stops (no third
// copy, though three may run), the first copy is cancelled, and the retry
// comes after the hint.
func TestHedgeRetryAfterStopsHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		var cancelled atomic.Bool
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			switch n.Add(1) {
			case 1:
				<-r.Context().Done()
				cancelled.Store(true)
				return nil, r.Context().Err()
			case 2:
				h := http.Header{"Retry-After": {"1"}}
				return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: h, Body: http.NoBody, Request: r}, nil
			}
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
		})
		obs := &hedgeObserver{}
		req, err := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		require.NoError(t, err)
		start := time.Now()
		resp, err := httpx.Do(&http.Client{Transport: rt}, req, retry.WithHedge(10*time.Millisecond, 3),
			retry.WithExactHints(), retry.WithMaxAttempts(5), retry.WithObserver(obs.observer()))
		require.NoError(t, err)
		assert.Equal(t, "ok", readClose(t, resp))
		assert.Equal(t, 10*time.Millisecond+time.Second, time.Since(start), "the retry waits for Retry-After")
		assert.EqualValues(t, 3, n.Load(), "no hedge after the Retry-After")
		assert.True(t, cancelled.Load())
		require.Len(t, obs.done, 1)
		assert.Equal(t, 3, obs.done[0].Attempts)
		assert.Equal(t, 1, obs.done[0].Hedges)
	})
}

// TestHedgeHintTooLongReturnsResponse: a hedge answered 503 with a
// Retry-After beyond the maximum delay ends the call, and that response
// comes back with its header, as without hedging.
func TestHedgeHintTooLongReturnsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				<-r.Context().Done()
				return nil, r.Context().Err()
			}
			h := http.Header{"Retry-After": {"3600"}}
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: h, Body: io.NopCloser(strings.NewReader("later")), Request: r}, nil
		})
		req, err := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		require.NoError(t, err)
		resp, err := httpx.Do(&http.Client{Transport: rt}, req, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxDelay(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "3600", resp.Header.Get("Retry-After"))
		assert.Equal(t, "later", readClose(t, resp))
		o, ok := httpx.Outcome(resp)
		require.True(t, ok)
		assert.ErrorIs(t, o, retry.ErrHintTooLong)
		assert.EqualValues(t, 2, n.Load())
	})
}

// TestHedgeResponseOfCancelledCopyClosed: the first copy's response
// arrives only as the copy is cancelled (the hedge won meanwhile): that
// response is closed, and the hedge's comes back.
func TestHedgeResponseOfCancelledCopyClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		late := &keptBody{ReadCloser: io.NopCloser(strings.NewReader("late"))}
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				<-r.Context().Done()
				return &http.Response{StatusCode: http.StatusOK, Body: late, Request: r}, nil // ignores the cancellation
			}
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("hedge")), Request: r}, nil
		})
		req, err := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		require.NoError(t, err)
		resp, err := httpx.Do(&http.Client{Transport: rt}, req, retry.WithHedge(10*time.Millisecond, 2))
		require.NoError(t, err)
		assert.Equal(t, "hedge", readClose(t, resp))
		assert.True(t, late.closed.Load(), "the cancelled copy's response is closed")
		assert.EqualValues(t, 2, n.Load())
	})
}
