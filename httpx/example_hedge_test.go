package httpx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// Hedged GETs: when an answer takes longer than 50ms, a second copy of the
// request is sent, the first answer wins, and the other copy is cancelled
// (on HTTP/2 only its stream is reset). A POST without an Idempotency-Key
// through the same client is never hedged: it is sent once, however slow.
func ExampleNewTransport_hedge() {
	// A stand-in for a server whose first request gets stuck.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // stuck until the client gives up on it
			return
		}
		_, _ = io.WriteString(w, "fresh")
	}))
	defer srv.Close()

	var hedges atomic.Int32
	obs := &retry.Observer{Done: func(_ context.Context, d retry.DoneInfo) { hedges.Add(int32(d.Hedges)) }}
	client := &http.Client{Transport: httpx.NewTransport(nil,
		retry.WithHedge(50*time.Millisecond, 2), // at most 2 copies in flight
		retry.WithObserver(obs))}

	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body), "hedges:", hedges.Load())
	// Output: 200 fresh hedges: 1
}
