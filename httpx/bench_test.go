package httpx_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// benchServer answers "ok"; with flaky it answers 503 twice out of three,
// so that every retried call sees 503, 503, 200.
func benchServer(b *testing.B, flaky bool) (*httptest.Server, *http.Transport) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flaky && n.Add(1)%3 != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	tr := &http.Transport{}
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	return srv, tr
}

func consume(b *testing.B, resp *http.Response, err error) {
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatal(resp.Status)
	}
}

func BenchmarkSuccess(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		srv, tr := benchServer(b, false)
		c := &http.Client{Transport: tr}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Do(req)
			consume(b, resp, err)
		}
	})
	b.Run("Do", func(b *testing.B) {
		srv, tr := benchServer(b, false)
		c := &http.Client{Transport: tr}
		p, _ := retry.NewPolicy()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := httpx.Do(c, req, p)
			consume(b, resp, err)
		}
	})
	b.Run("Transport", func(b *testing.B) {
		srv, tr := benchServer(b, false)
		c := &http.Client{Transport: httpx.NewTransport(tr)}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Do(req)
			consume(b, resp, err)
		}
	})
}

func Benchmark503TwiceThen200(b *testing.B) {
	noWait := retry.WithBackoff(retry.Constant(0)) // measure the work, not the waits
	b.Run("Do", func(b *testing.B) {
		srv, tr := benchServer(b, true)
		c := &http.Client{Transport: tr}
		p, _ := retry.NewPolicy(noWait)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := httpx.Do(c, req, p)
			consume(b, resp, err)
		}
	})
	b.Run("Transport", func(b *testing.B) {
		srv, tr := benchServer(b, true)
		c := &http.Client{Transport: httpx.NewTransport(tr, noWait)}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Do(req)
			consume(b, resp, err)
		}
	})
	b.Run("plain-3-requests", func(b *testing.B) {
		srv, tr := benchServer(b, true)
		c := &http.Client{Transport: tr}
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		b.ReportAllocs()
		for b.Loop() {
			for range 2 {
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			resp, err := c.Do(req)
			consume(b, resp, err)
		}
	})
}

// BenchmarkHedgedFirstWins: a GET through a transport whose policy hedges
// after an hour, answered at once: the hedged loop's cost on a call that
// sends no hedge, beside the same transport without hedging.
func BenchmarkHedgedFirstWins(b *testing.B) {
	for _, hedge := range []bool{false, true} {
		name := "unhedged"
		opts := []retry.Option{retry.WithMaxAttempts(3)}
		if hedge {
			name = "hedged"
			opts = append(opts, retry.WithHedge(time.Hour, 2))
		}
		b.Run(name, func(b *testing.B) {
			srv, tr := benchServer(b, false)
			c := &http.Client{Transport: httpx.NewTransport(tr, opts...)}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Do(req)
				consume(b, resp, err)
			}
		})
	}
}
