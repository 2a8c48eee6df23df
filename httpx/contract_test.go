package httpx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
