package httpx_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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

// newTLSServer starts a TLS loopback server with httptest's certificate,
// which clients do not trust unless told to.
func newTLSServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func getURL(t *testing.T, url string) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}
