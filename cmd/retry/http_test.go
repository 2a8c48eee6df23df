package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scripted is an HTTP server that answers with statuses in order (the last
// one repeats) and records every request it got.
type scripted struct {
	t        *testing.T
	statuses []int
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method, body, idempotencyKey, custom string
	hasKey                               bool
}

func newScripted(t *testing.T, statuses ...int) (*scripted, string) {
	s := &scripted{t: t, statuses: statuses}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("reading the request body: %v", err)
	}
	_, hasKey := r.Header["Idempotency-Key"]
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, recorded{r.Method, string(body), r.Header.Get("Idempotency-Key"), r.Header.Get("X-Custom"), hasKey})
	s.mu.Unlock()
	code := s.statuses[min(n, len(s.statuses)-1)]
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code)+" "+r.Method+"\n")
}

func (s *scripted) got() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.requests...)
}

// fastHTTP are flags that keep real waits negligible: the waits themselves are
// the library's business and tested there in virtual time.
var fastHTTP = []string{"http", "-backoff", "constant", "-delay", "0"}

func httpArgs(rest ...string) []string { return append(append([]string(nil), fastHTTP...), rest...) }

func TestHTTPStatuses(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		flags    []string
		status   int
		requests int
		stdout   string
		line     string // the give-up line, without -q
	}{
		{"503 twice then 200 prints the body", []int{503, 503, 200}, nil, 0, 3, "OK GET\n", ""},
		{"404 is not retried", []int{404, 200}, nil, exitHTTP4xx, 1, "Not Found GET\n", "retry: giving up after 1 attempt (404 is not retried without -status): 404 Not Found\n"},
		{"422 is not retried", []int{422, 200}, nil, exitHTTP4xx, 1, "Unprocessable Entity GET\n", "retry: giving up after 1 attempt (422 is not retried without -status): 422 Unprocessable Entity\n"},
		{"501 is not retried", []int{501, 200}, nil, exitHTTP5xx, 1, "Not Implemented GET\n", "retry: giving up after 1 attempt (501 is not retried without -status): 501 Not Implemented\n"},
		{"always 503 gives up after the attempts, last body printed", []int{503}, nil, exitHTTP5xx, 4, "Service Unavailable GET\n", "retry: giving up after 4 attempts (-attempts 4 reached): 503 Service Unavailable\n"},
		{"-attempts bounds the requests", []int{503}, []string{"-attempts", "2"}, exitHTTP5xx, 2, "Service Unavailable GET\n", "retry: giving up after 2 attempts (-attempts 2 reached): 503 Service Unavailable\n"},
		{"429 is retried", []int{429, 200}, nil, 0, 2, "OK GET\n", ""},
		{"-status replaces the set: 503 no longer retried", []int{503, 200}, []string{"-status", "502"}, exitHTTP5xx, 1, "Service Unavailable GET\n", "retry: giving up after 1 attempt (-status does not list 503): 503 Service Unavailable\n"},
		{"-status adds 404", []int{404, 404, 200}, []string{"-status", "404"}, 0, 3, "OK GET\n", ""},
		{"a 3xx without Location is a success", []int{304}, nil, 0, 1, "", ""},
		{"HEAD has no body", []int{503, 200}, []string{"-X", "HEAD"}, 0, 2, "", ""},
		{"POST without a key is not retried", []int{503, 200}, []string{"-X", "POST"}, exitHTTP5xx, 1, "Service Unavailable POST\n", "retry: giving up after 1 attempt (a POST is retried only with an Idempotency-Key header or -idempotent): 503 Service Unavailable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, quiet := range []bool{false, true} {
				srv, url := newScripted(t, tt.statuses...)
				flags := tt.flags
				if quiet {
					flags = append([]string{"-q"}, flags...)
				}
				status, stdout, stderr := runInProcess(t, httpArgs(append(flags, url)...)...)
				assert.Equal(t, tt.status, status, "stderr: %s", stderr)
				assert.Len(t, srv.got(), tt.requests)
				assert.Equal(t, tt.stdout, stdout)
				if quiet {
					assert.Empty(t, stderr, "-q")
				} else {
					assert.Equal(t, tt.line, stderr, "one line when it gives up, none on success")
				}
			}
		})
	}
}

func TestHTTPPostIdempotency(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "order.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"item":"book","qty":1}`), 0o600))

	tests := []struct {
		name     string
		flags    []string
		requests int
		key      string
		hasKey   bool
	}{
		{"POST without a key is sent once", nil, 1, "", false},
		{"POST with an Idempotency-Key header is retried", []string{"-H", "Idempotency-Key: order-42"}, 4, "order-42", true},
		{"POST with -idempotent is retried and sends no key", []string{"-idempotent"}, 4, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, url := newScripted(t, 503)
			args := httpArgs(append(append([]string{"-X", "post", "-d", "@" + file}, tt.flags...), url)...)
			status, stdout, _ := runInProcess(t, args...)
			assert.Equal(t, exitHTTP5xx, status)
			assert.Equal(t, "Service Unavailable POST\n", stdout)
			got := srv.got()
			require.Len(t, got, tt.requests)
			for i, r := range got {
				assert.Equal(t, "POST", r.method, "request %d", i)
				assert.Equal(t, `{"item":"book","qty":1}`, r.body, "request %d: the body arrives whole on every attempt", i)
				assert.Equal(t, tt.key, r.idempotencyKey, "request %d", i)
				assert.Equal(t, tt.hasKey, r.hasKey, "request %d", i)
			}
		})
	}
}

func TestHTTPPostWithLiteralDataAndHeaders(t *testing.T) {
	srv, url := newScripted(t, 500, 201)
	status, stdout, stderr := runInProcess(t, httpArgs("-X", "PUT", "-d", "name=ada", "-H", "X-Custom: yes", url)...)
	require.Equal(t, 0, status, stderr)
	assert.Equal(t, "Created PUT\n", stdout)
	got := srv.got()
	require.Len(t, got, 2, "PUT is idempotent: retried")
	for _, r := range got {
		assert.Equal(t, "name=ada", r.body)
		assert.Equal(t, "yes", r.custom)
	}
}

func TestHTTPNoResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close()) // nothing listens there now: connections are refused

	status, stdout, stderr := runInProcess(t, httpArgs(url)...)
	assert.Equal(t, exitNoResponse, status)
	assert.Empty(t, stdout)
	assert.Regexp(t, `^retry: giving up after 4 attempts \(-attempts 4 reached\): GET `+regexp.QuoteMeta(url)+`: dial tcp \S+: connect: connection refused\n$`, stderr, "one line, the URL once")

	status, stdout, stderr = runInProcess(t, httpArgs("-v", url)...)
	assert.Equal(t, exitNoResponse, status)
	assert.Empty(t, stdout)
	assert.Equal(t, 3, strings.Count(stderr, "msg=retrying"), "refused connections are retried: %s", stderr)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	assert.Regexp(t, `^msg="giving up" attempt=4 max_attempts=4 reason="-attempts 4 reached" error="GET `+regexp.QuoteMeta(url)+`: dial tcp \S+: connect: connection refused" sends=0 elapsed=\S+$`, lines[len(lines)-1], "the server got nothing")

	status, _, stderr = runInProcess(t, httpArgs("-q", url)...)
	assert.Equal(t, exitNoResponse, status)
	assert.Empty(t, stderr)

	// A password in the URL is not printed.
	secret := strings.Replace(url, "http://", "http://user:secret@", 1)
	status, _, stderr = runInProcess(t, httpArgs("-attempts", "1", secret)...)
	assert.Equal(t, exitNoResponse, status)
	assert.NotContains(t, stderr, "secret")
	assert.Equal(t, 1, strings.Count(stderr, "user:xxxxx@"), "the URL once: %s", stderr)
}

func TestHTTPBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing -d file", httpArgs("-X", "POST", "-d", "@/nonexistent/body", "http://127.0.0.1:1/"), "-d:"},
		{"unsupported scheme", httpArgs("ftp://example.com/"), `has the scheme "ftp": want http or https`},
		{"no scheme", httpArgs("example.com"), `URL "example.com" needs the scheme http:// or https://`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runInProcess(t, tt.args...)
			assert.Equal(t, exitUsage, status)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

// TestHTTPHostHeader: -H "Host: name" sets the request's Host, as with
// curl; net/http ignores a Host entry in the header map.
func TestHTTPHostHeader(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		n := len(hosts)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, r.Host+"\n")
	}))
	t.Cleanup(srv.Close)

	status, stdout, stderr := runInProcess(t, httpArgs("-H", "Host: example.org", srv.URL)...)
	require.Equal(t, 0, status, stderr)
	assert.Equal(t, "example.org\n", stdout)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"example.org", "example.org"}, hosts, "every attempt, the retried one included")
}
