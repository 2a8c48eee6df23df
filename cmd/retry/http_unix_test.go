//go:build unix

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTTPSignalWhileReadingTheBody: a signal that arrives while the final
// response's body is being copied exits 128+N like any other interruption,
// not 1 as for a failed request.
func TestHTTPSignalWhileReadingTheBody(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "first part\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done() // the rest never comes; retry hangs up
			}))
			t.Cleanup(srv.Close)
			cmd, stdout, stderr := startWatched(t, t.TempDir(), httpArgs(srv.URL)...)
			readUntil(t, stdout, "first part")
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(stderr)
			require.Error(t, cmd.Wait())
			assert.Equal(t, 128+int(sig), cmd.ProcessState.ExitCode(), "stderr: %s", rest)
		})
	}
}

// The binary, end to end: what a shell script sees.
func TestHTTPBinary(t *testing.T) {
	_, url := newScripted(t, 503, 200)
	r := runBinary(t, t.TempDir(), nil, httpArgs(url)...)
	assert.Equal(t, 0, r.status, r.stderr)
	assert.Equal(t, "OK GET\n", r.stdout)

	_, url = newScripted(t, 404)
	r = runBinary(t, t.TempDir(), nil, httpArgs(url)...)
	assert.Equal(t, exitHTTP4xx, r.status)
	assert.Equal(t, "Not Found GET\n", r.stdout)
}
