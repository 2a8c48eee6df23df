package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropReused starts a server that answers the first request of every
// connection with first, and drops every later request of a connection, as
// a server whose keep-alive connections die does: it reads the request and
// closes the connection without a byte of answer. It returns the server's
// URL and its request count.
func dropReused(e *env, first int) (string, *atomic.Int32) {
	return dropping(e, func(_, onConn int32) int {
		if onConn == 1 {
			return first
		}
		return 0
	})
}

// dropping starts a server that answers each request with the status
// answer gives it (from the request's number overall and on its
// connection, both from 1), or drops it when answer returns 0.
func dropping(e *env, answer func(total, onConn int32) int) (string, *atomic.Int32) {
	var requests atomic.Int32
	var perConn sync.Map // remote address: *atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		total := requests.Add(1)
		c, _ := perConn.LoadOrStore(r.RemoteAddr, new(atomic.Int32))
		if code := answer(total, c.(*atomic.Int32).Add(1)); code != 0 {
			w.WriteHeader(code)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.Close()
	})
	return srv.URL, &requests
}

// TestNetHTTPResendsOnReusedConnections pins what the package
// documentation says: net/http's Transport sends a GET again by itself
// when a reused connection fails, so 4 attempts can reach the server 7
// times; each attempt that did so says it in a *ResentError; and a
// Transport with DisableKeepAlives sends exactly one request per attempt.
func TestNetHTTPResendsOnReusedConnections(t *testing.T) {
	e := newEnv(t)
	url, requests := dropReused(e, http.StatusServiceUnavailable)
	var errs []error
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) })
	req, err := http.NewRequestWithContext(httpx.CountResends(context.Background()), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, append(fast, retry.WithMaxAttempts(4), notify)...)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, counted(2), sends(resp), "the final attempt, which no hook sees, was sent twice too")
	readClose(t, resp)
	assert.EqualValues(t, 7, requests.Load(), "attempts 2 to 4 each reached the server twice")
	require.Len(t, errs, 3)
	var re *httpx.ResentError
	assert.False(t, errors.As(errs[0], &re), "attempt 1 went out once: %v", errs[0])
	for _, err := range errs[1:] {
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 2, re.Sends)
		var se *httpx.StatusError
		require.ErrorAs(t, err, &se, "classification sees the status through it")
		assert.Equal(t, http.StatusServiceUnavailable, se.StatusCode)
		assert.Equal(t, "httpx: server answered 503 Service Unavailable (sent 2 times in this attempt: net/http sent it again after a reused connection failed)", err.Error())
	}

	t.Run("DisableKeepAlives: one send per attempt", func(t *testing.T) {
		e := newEnv(t)
		e.tr.DisableKeepAlives = true
		url, requests := dropReused(e, http.StatusServiceUnavailable)
		req, err := http.NewRequestWithContext(httpx.CountResends(context.Background()), http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, append(fast, retry.WithMaxAttempts(4))...)
		require.NoError(t, err)
		assert.Equal(t, counted(1), sends(resp))
		readClose(t, resp)
		assert.EqualValues(t, 4, requests.Load())
	})
}

// TestResentErrorWithoutResponse: an attempt whose request was written on a
// reused connection and again on a new one, both dropped, fails with a
// *ResentError that counts both sends; an attempt on a fresh connection is
// not re-sent by net/http.
func TestResentErrorWithoutResponse(t *testing.T) {
	e := newEnv(t)
	url, requests := dropping(e, func(total, _ int32) int {
		if total == 1 {
			return http.StatusOK // the warm-up
		}
		return 0
	})
	warm, err := e.client().Get(url) // leaves an idle connection
	require.NoError(t, err)
	readClose(t, warm)

	var errs []error
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) })
	req, err := http.NewRequestWithContext(httpx.CountResends(context.Background()), http.MethodGet, url, nil)
	require.NoError(t, err)
	tr := httpx.NewTransport(e.tr, append(fast, retry.WithMaxAttempts(2), notify)...)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	re := requireNoResponse(t, resp, err)
	assert.Equal(t, 2, re.Attempts)
	assert.EqualValues(t, 1+3, requests.Load(), "the warm-up, then 2 sends in attempt 1 and 1 in attempt 2")
	require.Len(t, errs, 1)
	var resent *httpx.ResentError
	require.ErrorAs(t, errs[0], &resent)
	assert.Equal(t, 2, resent.Sends)
	assert.Contains(t, errs[0].Error(), "(sent 2 times in this attempt: net/http sent it again after a reused connection failed)")
	assert.False(t, errors.As(re.Last, &resent), "attempt 2, on a fresh connection, was sent once: %v", re.Last)
}

// TestResendsNotCountedByDefault: without CountResends, the same attempts
// reach the server as often and their errors are the usual ones.
func TestResendsNotCountedByDefault(t *testing.T) {
	e := newEnv(t)
	url, requests := dropReused(e, http.StatusServiceUnavailable)
	var errs []error
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) })
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, append(fast, retry.WithMaxAttempts(3), notify)...)
	require.NoError(t, err)
	assert.Equal(t, notCounted, sends(resp), "not counted")
	readClose(t, resp)
	assert.EqualValues(t, 5, requests.Load())
	require.Len(t, errs, 2)
	for _, err := range errs {
		var re *httpx.ResentError
		assert.False(t, errors.As(err, &re))
		assert.Equal(t, "httpx: server answered 503 Service Unavailable", err.Error())
	}
}

// TestCountResendsCustomTransport: a RoundTripper that is not net/http's
// Transport is never counted (it has no such re-sends to count).
func TestCountResendsCustomTransport(t *testing.T) {
	var n atomic.Int32
	rt := rtFunc(func(*http.Request) (*http.Response, error) {
		n.Add(1)
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Body: http.NoBody}, nil
	})
	var errs []error
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) })
	req, err := http.NewRequestWithContext(httpx.CountResends(context.Background()), http.MethodGet, "http://api.test/", nil)
	require.NoError(t, err)
	resp, err := httpx.Do(&http.Client{Transport: rt}, req, append(fast, retry.WithMaxAttempts(2), notify)...)
	require.NoError(t, err)
	assert.Equal(t, notCounted, sends(resp))
	readClose(t, resp)
	require.Len(t, errs, 1)
	assert.Equal(t, "httpx: server answered 503 Service Unavailable", errs[0].Error())
	assert.EqualValues(t, 2, n.Load())
}

// TestResendNotCountedForRedirects: the count never takes a redirect for a
// second send.
func TestResendNotCountedForRedirects(t *testing.T) {
	e := newEnv(t)
	var n atomic.Int32
	srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var errs []error
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { errs = append(errs, a.Err) })
	req, err := http.NewRequestWithContext(httpx.CountResends(context.Background()), http.MethodGet, srv.URL+"/old", nil)
	require.NoError(t, err)
	resp, err := httpx.Do(e.client(), req, append(fast, retry.WithMaxAttempts(2), notify)...)
	require.NoError(t, err)
	assert.Equal(t, counted(1), sends(resp))
	readClose(t, resp)
	require.Len(t, errs, 1)
	var re *httpx.ResentError
	assert.False(t, errors.As(errs[0], &re), "%v", errs[0])
	assert.EqualValues(t, 2, n.Load())
}

// TestSendsOfASuccess: a successful attempt that net/http sent twice says
// so through Sends, though no error carries the count; so does the
// transport of NewTransport.
func TestSendsOfASuccess(t *testing.T) {
	e := newEnv(t)
	url, requests := dropReused(e, http.StatusOK)
	ctx := httpx.CountResends(context.Background())
	for i, want := range []int{1, 2} { // the second request goes out on the first's connection, which dies
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := httpx.Do(e.client(), req, fast...)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, counted(want), sends(resp), "request %d", i+1)
		readClose(t, resp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: httpx.NewTransport(e.tr, fast...)}).Do(req)
	require.NoError(t, err)
	assert.Equal(t, counted(2), sends(resp), "through NewTransport")
	readClose(t, resp)
	assert.EqualValues(t, 5, requests.Load())

	req, err = http.NewRequest(http.MethodPost, url, nil)
	require.NoError(t, err)
	assert.Equal(t, notCounted, sends(&http.Response{Request: req}), "no count")
	assert.Equal(t, notCounted, sends(&http.Response{}))
	assert.Equal(t, notCounted, sends(nil))
}

// sendCount is what httpx.Sends returns, as one value for assertions.
type sendCount struct {
	n       int
	counted bool
}

var notCounted = sendCount{}

func counted(n int) sendCount { return sendCount{n, true} }

func sends(resp *http.Response) sendCount {
	n, ok := httpx.Sends(resp)
	return sendCount{n, ok}
}
