package httpx_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/require"
)

// fast is a policy option set for wire tests: no waits between attempts.
var fast = []retry.Option{retry.WithBackoff(retry.Constant(0))}

// env is a wire-test environment: loopback servers, a client with its own
// transport, and a goroutine leak check when the test ends.
type env struct {
	t  *testing.T
	tr *http.Transport
}

// newEnv records the goroutine count and, at cleanup (after the servers and
// idle connections are closed), checks that it is back to it.
func newEnv(t *testing.T) *env {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() { checkGoroutines(t, before) })
	e := &env{t: t, tr: &http.Transport{}}
	t.Cleanup(e.tr.CloseIdleConnections)
	return e
}

// checkGoroutines waits, yielding and without sleeping, for the goroutines
// of closed connections to end, and fails the test if some remain after a
// bounded time.
func checkGoroutines(t *testing.T, want int) {
	t.Helper()
	start := time.Now()
	for runtime.NumGoroutine() > want {
		if time.Since(start) > 10*time.Second {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutine leak: %d goroutines, want at most %d\n%s", runtime.NumGoroutine(), want, buf[:n])
		}
		runtime.Gosched()
	}
}

// client returns a client on the env's transport.
func (e *env) client() *http.Client { return &http.Client{Transport: e.tr} }

// server starts a loopback server whose connections are counted.
func (e *env) server(h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	e.t.Cleanup(srv.Close)
	return srv, &conns
}

// h2cServer starts a loopback server that speaks HTTP/2 without TLS, and
// makes the env's transport speak it to it (with prior knowledge); its
// connections are counted.
func (e *env) h2cServer(h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	e.tr.Protocols = &p
	srv.Start()
	e.t.Cleanup(srv.Close)
	return srv, &conns
}

// script answers the n-th request (from 1) with statuses[n-1], or with the
// last status once the script runs out, and counts the requests.
type script struct {
	statuses []int
	header   http.Header // added to every answer
	n        atomic.Int32
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.n.Add(1))
	code := s.statuses[min(n, len(s.statuses))-1]
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code))
}

// readClose reads the whole body and closes it, failing on an error.
func readClose(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return string(b)
}

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func newBody(s string) *closeRecorder { return &closeRecorder{Reader: strings.NewReader(s)} }

// requireNoResponse asserts that a call ended without a response and with
// a *retry.Error, and returns that error.
func requireNoResponse(t *testing.T, resp *http.Response, err error) *retry.Error {
	t.Helper()
	require.Nil(t, resp)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	return re
}

// rtFunc is a RoundTripper made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
