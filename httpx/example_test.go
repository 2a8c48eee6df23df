package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// A resilient client for a JSON API with a bearer token (a language model's
// completion endpoint, say): the retry policy is set once on the client's
// transport, the whole call has 30 seconds, and the POST is made safe to
// retry by an Idempotency-Key the server deduplicates on.
func Example() {
	// A stand-in for the API: busy on the first call, then it answers.
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		var in struct{ Prompt string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"completion": "echo: " + in.Prompt,
			"key":        r.Header.Get("Idempotency-Key"),
		})
	}))
	defer api.Close()

	client := &http.Client{Transport: httpx.NewTransport(nil,
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential(200*time.Millisecond, 2)),
		retry.WithMaxDelay(10*time.Second),
		retry.WithAttemptTimeout(20*time.Second),
	)}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"prompt": "hello"})
	// bytes.NewReader lets every attempt send the whole body again.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api.URL+"/v1/complete", bytes.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "order-7f3a") // without it, a POST is not retried on 503

	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct{ Completion, Key string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, "after", calls.Load(), "attempts:", out.Completion, "(key "+out.Key+")")
	// Output:
	// 200 OK after 2 attempts: echo: hello (key order-7f3a)
}

// A circuit breaker per host: one shared map of breakers, and the breaker
// of the request's host passed with WithOptions.
func Example_breakerPerHost() {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()

	var breakers sync.Map // host -> *retry.Breaker
	breakerFor := func(host string) *retry.Breaker {
		if b, ok := breakers.Load(host); ok {
			return b.(*retry.Breaker)
		}
		b, _ := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: 30 * time.Second})
		b2, _ := breakers.LoadOrStore(host, b)
		return b2.(*retry.Breaker)
	}
	client := &http.Client{Transport: httpx.NewTransport(nil,
		retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(time.Millisecond)))}

	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, down.URL, nil)
		req = req.WithContext(httpx.WithOptions(req.Context(), retry.WithBreaker(breakerFor(req.URL.Host))))
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(i, "circuit open:", errors.Is(err, retry.ErrCircuitOpen))
			continue
		}
		resp.Body.Close()
		fmt.Println(i, resp.Status)
	}
	// Output:
	// 0 503 Service Unavailable
	// 1 503 Service Unavailable
	// 2 circuit open: true
}

// When the retries end on a status, the response comes back with a nil
// error, as net/http does; Outcome tells why the retries stopped there,
// without matching strings: here the server asked for a wait longer than
// the policy's maximum delay.
func ExampleOutcome() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer api.Close()

	req, err := http.NewRequest(http.MethodGet, api.URL, nil)
	if err != nil {
		panic(err)
	}
	resp, err := httpx.Do(nil, req, retry.WithMaxDelay(30*time.Second))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	if e, ok := httpx.Outcome(resp); ok {
		fmt.Println("attempts:", e.Attempts)
		fmt.Println("reason:", retry.ReasonOf(e))
		fmt.Println("hint refused:", e.Hint, errors.Is(e, retry.ErrHintTooLong))
	}
	// Output:
	// 503 Service Unavailable
	// attempts: 1
	// reason: hint_too_long
	// hint refused: 2m0s true
}

// A POST without an Idempotency-Key that gets a 503 is not sent again: the
// server may have processed it. The response comes back, and Outcome says
// the retries were refused, not that the failure is permanent; the
// message says what would allow the retry.
func ExampleOutcome_notIdempotent() {
	var orders atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders.Add(1) // processed, then the proxy in front answers 503
		http.Error(w, "upstream timeout", http.StatusServiceUnavailable)
	}))
	defer api.Close()

	req, err := http.NewRequest(http.MethodPost, api.URL+"/orders", bytes.NewReader([]byte(`{"item":1}`)))
	if err != nil {
		panic(err)
	}
	resp, err := httpx.Do(nil, req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	e, _ := httpx.Outcome(resp)
	fmt.Println(resp.Status, "after", e.Attempts, "attempt; orders placed:", orders.Load())
	fmt.Println("reason:", retry.ReasonOf(e), errors.Is(e, retry.ErrNotIdempotent), errors.Is(e, retry.ErrPermanent))
	fmt.Println(e)
	// Output:
	// 503 Service Unavailable after 1 attempt; orders placed: 1
	// reason: not_idempotent true false
	// retry: not idempotent, not resent after 1 attempt: httpx: not sent again: the server may have processed the POST, which has no idempotency key (to retry it, set an Idempotency-Key or X-Idempotency-Key header the server deduplicates on, use an idempotent method such as PUT, or opt in without sending a key with req.Header["Idempotency-Key"] = nil): httpx: server answered 503 Service Unavailable
}
