package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDo503TwiceThen200OneConnection(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{503, 503, 200}}
	srv, conns := e.server(s.ServeHTTP)
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)

	resp, err := httpx.Do(e.client(), req, fast...)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "OK", readClose(t, resp))
	assert.EqualValues(t, 3, s.n.Load())
	assert.EqualValues(t, 1, conns.Load(), "three attempts on keep-alive use one connection")
}

func TestTransportThroughClient(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{502, 504, 200}}
	srv, conns := e.server(s.ServeHTTP)
	c := &http.Client{Transport: httpx.NewTransport(e.tr, fast...)}

	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "OK", readClose(t, resp))
	assert.EqualValues(t, 3, s.n.Load())
	assert.EqualValues(t, 1, conns.Load())
	c.CloseIdleConnections() // passed on to e.tr
}

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

// refusedAddr returns a loopback address where nothing listens: a port
// that was just free.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestConnectionRefused(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			e := newEnv(t)
			addr := refusedAddr(t)
			body := newBody("order")
			req, err := http.NewRequest(method, "http://"+addr+"/orders", strings.NewReader("order"))
			require.NoError(t, err)
			req.Body = body // keep GetBody, observe Close

			resp, err := httpx.Do(e.client(), req, fast...)
			re := requireNoResponse(t, resp, err)
			assert.Equal(t, retry.DefaultMaxAttempts, re.Attempts, "a refused connection is retried, POST included")
			assert.ErrorIs(t, err, syscall.ECONNREFUSED)
			assert.ErrorIs(t, err, retry.ErrExhausted)
			assert.True(t, body.closed.Load())
		})
	}
}

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

// hijackAndClose cuts the connection in the middle of a response: the
// status line is sent, the header is not finished.
func hijackAndClose(w http.ResponseWriter, reset bool) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n")
	_ = buf.Flush()
	if reset {
		_ = conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

func TestConnectionCutMidResponse(t *testing.T) {
	for _, reset := range []bool{false, true} {
		name := map[bool]string{false: "closed", true: "reset"}[reset]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			var n atomic.Int32
			srv, conns := e.server(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) < 3 {
					hijackAndClose(w, reset)
					return
				}
				_, _ = io.WriteString(w, "whole")
			})
			var errs []error
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			resp, err := httpx.Do(e.client(), req, append(fast,
				retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) }))...)
			require.NoError(t, err)
			assert.Equal(t, "whole", readClose(t, resp))
			assert.EqualValues(t, 3, n.Load())
			assert.EqualValues(t, 3, conns.Load(), "each cut connection is replaced")
			require.Len(t, errs, 2)
			for _, err := range errs {
				assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
					errors.Is(err, io.EOF), "unexpected error %v", err)
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

func TestAttemptTimeout(t *testing.T) {
	e := newEnv(t)
	var n atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done() // slower than the attempt timeout
			return
		}
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, "later")
	})
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, append(fast, retry.WithAttemptTimeout(200*time.Millisecond))...)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "later", readClose(t, resp), "the body outlives the attempt's context")
	assert.EqualValues(t, 2, n.Load())
}

func TestClientTimeoutPerAttempt(t *testing.T) {
	e := newEnv(t)
	var n atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	c := e.client()
	c.Timeout = 200 * time.Millisecond
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := httpx.Do(c, req, fast...)
	require.NoError(t, err)
	assert.Equal(t, "ok", readClose(t, resp))
	assert.EqualValues(t, 2, n.Load())
}

func TestNeverRetriedErrors(t *testing.T) {
	t.Run("TLS certificate", func(t *testing.T) {
		e := newEnv(t)
		var n atomic.Int32
		tsrv := newTLSServer(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1) })
		req, err := http.NewRequest(http.MethodGet, tsrv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, fast...) // e.client does not trust the test CA
		require.Nil(t, resp)
		var cve *tls.CertificateVerificationError
		require.ErrorAs(t, err, &cve)
		require.ErrorIs(t, err, retry.ErrPermanent)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, re.Attempts)
		assert.EqualValues(t, 0, n.Load())
	})
	t.Run("CheckRedirect refusal", func(t *testing.T) {
		// The client's redirect policy refused a redirect: net/http returns
		// the redirect response (its body closed) with the error. The policy
		// would refuse it again.
		e := newEnv(t)
		var n atomic.Int32
		srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Redirect(w, r, "/again", http.StatusFound)
		})
		refused := errors.New("no redirects here")
		c := e.client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return refused }
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(c, req, fast...)
		require.Nil(t, resp)
		require.ErrorIs(t, err, refused)
		require.ErrorIs(t, err, retry.ErrPermanent)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, re.Attempts)
		assert.EqualValues(t, 1, n.Load())
	})
	for _, url := range []string{"ftp://example.invalid/x", "http:///no-host", "unknown:opaque"} {
		t.Run(url, func(t *testing.T) {
			e := newEnv(t)
			req, err := http.NewRequest(http.MethodGet, url, nil)
			require.NoError(t, err)
			resp, err := httpx.Do(e.client(), req, fast...)
			re := requireNoResponse(t, resp, err)
			assert.Equal(t, 1, re.Attempts)
			assert.ErrorIs(t, err, retry.ErrPermanent)
		})
	}
}

func TestCallerCancellationNotRetried(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cancel()
		<-r.Context().Done()
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, fast...)
	require.Nil(t, resp)
	require.ErrorIs(t, err, context.Canceled)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.EqualValues(t, 1, n.Load())
}

func TestWithOptionsOverride(t *testing.T) {
	for _, viaTransport := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "Transport"}[viaTransport], func(t *testing.T) {
			e := newEnv(t)
			s := &script{statuses: []int{503}}
			srv, _ := e.server(s.ServeHTTP)
			ctx := httpx.WithOptions(context.Background(), retry.WithMaxAttempts(3))
			ctx = httpx.WithOptions(ctx, retry.WithMaxAttempts(2)) // inner wins
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			clientOpts := append(fast, retry.WithMaxAttempts(5))
			var resp *http.Response
			if viaTransport {
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, clientOpts...)}).Do(req)
			} else {
				resp, err = httpx.Do(e.client(), req, clientOpts...)
			}
			require.NoError(t, err)
			assert.Equal(t, 503, resp.StatusCode)
			readClose(t, resp)
			assert.EqualValues(t, 2, s.n.Load(), "the request's options override the client's")

			// Without an override, the client-level policy applies.
			s.n.Store(0)
			req, err = http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			if viaTransport {
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, clientOpts...)}).Do(req)
			} else {
				resp, err = httpx.Do(e.client(), req, clientOpts...)
			}
			require.NoError(t, err)
			readClose(t, resp)
			assert.EqualValues(t, 5, s.n.Load())
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	newEnv(t)
	body := newBody("x")
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
	require.NoError(t, err)
	req.Body = body
	rt := httpx.NewTransport(nil, retry.WithMaxAttempts(-1))
	resp, err := rt.RoundTrip(req)
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.True(t, body.closed.Load(), "RoundTrip closes the body, even on errors")

	body = newBody("x")
	req.Body = body
	resp, err = httpx.Do(nil, req, retry.WithJitter(retry.ProportionalJitter(2)))
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.True(t, body.closed.Load())

	resp, err = httpx.Do(nil, nil)
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)

	for _, rt := range []http.RoundTripper{httpx.NewTransport(nil), httpx.NewTransport(nil, retry.WithMaxAttempts(-1))} {
		resp, err = rt.RoundTrip(nil)
		require.Nil(t, resp)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A base that is a nil pointer or a nil func inside a non-nil interface
// cannot send anything: every RoundTrip says so instead of panicking.
func TestTypedNilBase(t *testing.T) {
	for name, base := range map[string]http.RoundTripper{
		"*http.Transport": (*http.Transport)(nil),
		"func":            rtFunc(nil),
	} {
		t.Run(name, func(t *testing.T) {
			body := newBody("x")
			req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:1/", nil)
			require.NoError(t, err)
			req.Body = body
			rt := httpx.NewTransport(base, fast...)
			resp, err := rt.RoundTrip(req)
			require.Nil(t, resp)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.ErrorContains(t, err, "nil")
			assert.True(t, body.closed.Load(), "RoundTrip closes the body, even on errors")
			(&http.Client{Transport: rt}).CloseIdleConnections()
		})
	}
}

func TestCallerRequestUnchanged(t *testing.T) {
	e := newEnv(t)
	s := &script{statuses: []int{503, 503, 200}}
	srv, _ := e.server(s.ServeHTTP)
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, strings.NewReader("v"))
	require.NoError(t, err)
	req.Header.Set("A", "b")
	url, header, getBody := *req.URL, req.Header.Clone(), req.GetBody
	resp, err := httpx.Do(e.client(), req, append(fast, retry.WithAttemptTimeout(time.Minute))...)
	require.NoError(t, err)
	readClose(t, resp)
	assert.Equal(t, url, *req.URL)
	assert.Equal(t, header, req.Header)
	assert.Equal(t, ctx, req.Context())
	assert.NotNil(t, req.GetBody)
	b, err := getBody()
	require.NoError(t, err)
	v, _ := io.ReadAll(b)
	assert.Equal(t, "v", string(v))
}

// A client with a cookie jar adds the jar's cookies to the request it sends
// (net/http does so in place); Do must neither let that reach the caller's
// request nor send the cookies twice on a retry.
func TestCookieJarClient(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var sent [][]string
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Values("Cookie"))
		n := len(sent)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(503)
		}
	})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	jar.SetCookies(u, []*http.Cookie{{Name: "s", Value: "1"}})
	c := e.client()
	c.Jar = jar

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("A", "b")
	header := req.Header.Clone()
	resp, err := httpx.Do(c, req, append(fast, retry.WithAttemptTimeout(time.Minute))...)
	require.NoError(t, err)
	readClose(t, resp)
	assert.Equal(t, header, req.Header, "the caller's request is not modified")
	assert.Equal(t, [][]string{{"s=1"}, {"s=1"}, {"s=1"}}, sent, "each attempt sends the jar's cookie once")

	// A request without a Header map works too.
	mu.Lock()
	sent = nil
	mu.Unlock()
	req, err = http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header = nil
	resp, err = httpx.Do(c, req, fast...)
	require.NoError(t, err)
	readClose(t, resp)
	assert.Nil(t, req.Header)
	assert.Equal(t, [][]string{{"s=1"}, {"s=1"}, {"s=1"}}, sent)
}

// newTLSServer starts a TLS loopback server with httptest's certificate,
// which clients do not trust unless told to.
func newTLSServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTransportConcurrentUse(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		mu.Lock()
		first := !seen[id]
		seen[id] = true
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, id)
	})
	c := &http.Client{Transport: httpx.NewTransport(e.tr, fast...)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("%d-%d", g, i)
				req, err := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader(id))
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("X-Request-Id", id)
				resp, err := c.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				b, err := io.ReadAll(resp.Body)
				assert.NoError(t, err)
				assert.NoError(t, resp.Body.Close())
				assert.Equal(t, id, string(b))
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, 80)
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

func getURL(t *testing.T, url string) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}
