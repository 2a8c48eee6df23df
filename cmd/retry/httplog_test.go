package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTTPVerbose(t *testing.T) {
	_, url := newScripted(t, 503, 502, 200)
	status, stdout, stderr := runInProcess(t, httpArgs("-v", url)...)
	require.Equal(t, 0, status)
	assert.Equal(t, "OK GET\n", stdout, "logs never go to stdout")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, 3, stderr)
	assert.Contains(t, lines[0], "msg=retrying attempt=1 max_attempts=4")
	assert.Contains(t, lines[0], "503")
	assert.Contains(t, lines[1], "msg=retrying attempt=2 max_attempts=4")
	assert.Contains(t, lines[1], "502")
	assert.Contains(t, lines[2], "msg=succeeded attempt=3 max_attempts=4 sends=3 elapsed=", "every send of the call")

	_, url = newScripted(t, 404)
	status, _, stderr = runInProcess(t, httpArgs("-v", url)...)
	assert.Equal(t, exitHTTP4xx, status)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: -v replaces the give-up line")
	assert.Contains(t, stderr, `msg="giving up" attempt=1 max_attempts=4 reason="404 is not retried without -status" status="404 Not Found" sends=1 elapsed=`)
}

// TestHTTPVerboseWhyTheStatus: -v says why the retries ended on a status,
// in the flags' terms: a Retry-After beyond -max-delay, the attempts used
// up.
func TestHTTPVerboseWhyTheStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	status, _, stderr := runInProcess(t, httpArgs("-v", "-max-delay", "30s", srv.URL)...)
	assert.Equal(t, exitHTTP5xx, status)
	assert.Contains(t, stderr, `msg="giving up" attempt=1 max_attempts=4 reason="Retry-After 2m0s exceeds -max-delay 30s" status="503 Service Unavailable" sends=1 elapsed=`)

	_, url := newScripted(t, 503)
	status, _, stderr = runInProcess(t, httpArgs("-v", "-attempts", "2", url)...)
	assert.Equal(t, exitHTTP5xx, status)
	assert.Contains(t, stderr, `msg="giving up" attempt=2 max_attempts=2 reason="-attempts 2 reached" status="503 Service Unavailable" sends=2 elapsed=`)

	// Without -v, the give-up line says it.
	status, _, stderr = runInProcess(t, httpArgs("-max-delay", "30s", srv.URL)...)
	assert.Equal(t, exitHTTP5xx, status)
	assert.Equal(t, "retry: giving up after 1 attempt (Retry-After 2m0s exceeds -max-delay 30s): 503 Service Unavailable\n", stderr)
}

// TestHTTPFlagsBeforeSubcommand: retry -v http URL is retry http -v URL,
// not a run of a program named http.
func TestHTTPFlagsBeforeSubcommand(t *testing.T) {
	s, url := newScripted(t, 503, 200)
	status, stdout, stderr := runInProcess(t, "-v", "-backoff", "constant", "-delay", "0", "http", "-X", "PUT", url)
	require.Equal(t, 0, status, stderr)
	assert.Equal(t, "OK PUT\n", stdout)
	assert.Contains(t, stderr, "msg=succeeded attempt=2 max_attempts=4")
	assert.Len(t, s.got(), 2)

	status, stdout, stderr = runInProcess(t, "-v", "http", "-h")
	assert.Equal(t, 0, status)
	assert.Empty(t, stderr)
	assert.Contains(t, stdout, "usage: retry http [flags] URL")

	status, _, stderr = runInProcess(t, "-stop-on", "2", "http", url)
	assert.Equal(t, exitUsage, status)
	assert.Equal(t, "retry: -stop-on applies only to command mode, not to retry http\nTo run a program named http: retry [flags] -- http ...\nusage: retry http [flags] URL\nRun 'retry http -h' for the flags and their defaults.\n", stderr)

	status, _, stderr = runInProcess(t, "http", "-stdin", "none", url)
	assert.Equal(t, exitUsage, status)
	assert.Equal(t, "retry: -stdin applies only to command mode, not to retry http\nusage: retry http [flags] URL\nRun 'retry http -h' for the flags and their defaults.\n", stderr)
}

// TestHTTPVerboseResends: -v says when net/http sent one attempt twice (a
// reused connection died and it re-sent the GET on a new one): on a retry
// line, and on the last line for the final attempt, a failure or a
// success.
func TestHTTPVerboseResends(t *testing.T) {
	// dropReused answers the first request of a connection with the status
	// first gives (from the number of requests so far), and drops the
	// connection on a later one.
	dropReused := func(first func(n int32) int) (string, *atomic.Int32) {
		var requests atomic.Int32
		var perConn sync.Map
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			total := requests.Add(1)
			n, _ := perConn.LoadOrStore(r.RemoteAddr, new(atomic.Int32))
			if n.(*atomic.Int32).Add(1) == 1 {
				w.WriteHeader(first(total))
				return
			}
			conn, _, err := http.NewResponseController(w).Hijack() // drop a reused connection
			if err != nil {
				panic(err)
			}
			conn.Close()
		}))
		t.Cleanup(srv.Close)
		return srv.URL, &requests
	}
	url, requests := dropReused(func(int32) int { return http.StatusServiceUnavailable })
	status, _, stderr := runInProcess(t, httpArgs("-v", "-attempts", "3", url)...)
	assert.Equal(t, exitHTTP5xx, status)
	assert.EqualValues(t, 5, requests.Load(), "3 attempts, 2 of them sent twice")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, 3, stderr)
	assert.NotContains(t, lines[0], "sent 2 times")
	assert.Contains(t, lines[1], `error="httpx: server answered 503 Service Unavailable (sent 2 times in this attempt: net/http sent it again after a reused connection failed)"`)
	assert.Regexp(t, `^msg="giving up" attempt=3 max_attempts=3 reason="-attempts 3 reached" status="503 Service Unavailable" sends=5 elapsed=\S+$`, lines[2], "every send of the call, as the server counted them")

	url, requests = dropReused(func(n int32) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	status, _, stderr = runInProcess(t, httpArgs("-v", "-attempts", "3", url)...)
	assert.Equal(t, 0, status)
	assert.EqualValues(t, 3, requests.Load(), "attempt 2 sent twice")
	lines = strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, 2, stderr)
	assert.Regexp(t, `^msg=succeeded attempt=2 max_attempts=3 sends=3 elapsed=\S+$`, lines[1], "every send of the call, as the server counted them")
}
