package httpx_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"pgregory.net/rapid"
)

// outcome is what one attempt gets: a status, or a transport error.
type outcome struct {
	code int   // 0 for an error
	err  error // nil for a status
}

var (
	errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	errReset   = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
)

// expectAttempts models the retry rules: how many attempts a request
// makes with at most maxAttempts against outcomes, the last one repeated.
func expectAttempts(outcomes []outcome, safe bool, maxAttempts int) int {
	for n := 1; ; n++ {
		o := outcomes[min(n, len(outcomes))-1]
		var retryable bool
		switch {
		case o.err == nil && o.code < 400:
			return n
		case o.err == nil:
			retryable = (&httpx.StatusError{StatusCode: o.code}).Retryable() && (safe || o.code == 429)
		default:
			retryable = safe || errors.Is(o.err, syscall.ECONNREFUSED)
		}
		if !retryable || n == maxAttempts {
			return n
		}
	}
}

// TestRetryRulesProperty checks Do against a model of the rules for random
// sequences of statuses and connection errors, methods, idempotency keys
// and attempt limits: the number of attempts, what comes back, and that
// every retried response was drained and closed while the returned one is
// untouched.
func TestRetryRulesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.Custom(func(t *rapid.T) outcome {
			if rapid.IntRange(0, 4).Draw(t, "isErr") == 0 {
				return outcome{err: rapid.SampledFrom([]error{errRefused, errReset}).Draw(t, "err")}
			}
			return outcome{code: rapid.SampledFrom([]int{200, 204, 400, 404, 408, 422, 429, 500, 501, 502, 503}).Draw(t, "code")}
		})
		outcomes := rapid.SliceOfN(gen, 1, 6).Draw(t, "outcomes")
		method := rapid.SampledFrom([]string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodPatch}).Draw(t, "method")
		key := rapid.Bool().Draw(t, "key")
		maxAttempts := rapid.IntRange(1, 6).Draw(t, "maxAttempts")

		rt := &fakeRT{answer: func(n int, _ *http.Request) (*http.Response, error) {
			o := outcomes[min(n, len(outcomes))-1]
			if o.err != nil {
				return nil, o.err
			}
			return status(o.code), nil
		}}
		req, err := http.NewRequest(method, "http://api.test/", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		if key {
			req.Header.Set("Idempotency-Key", "k")
		}
		safe := key || method == http.MethodGet || method == http.MethodPut
		want := expectAttempts(outcomes, safe, maxAttempts)

		resp, err := httpx.Do(&http.Client{Transport: rt}, req,
			retry.WithBackoff(retry.Constant(0)), retry.WithMaxAttempts(maxAttempts))
		if got := rt.calls(); got != want {
			t.Fatalf("%d attempts, want %d", got, want)
		}
		last := outcomes[min(want, len(outcomes))-1]
		switch {
		case last.err != nil:
			if resp != nil || !errors.Is(err, last.err) {
				t.Fatalf("got %v, %v; want no response and %v", resp, err, last.err)
			}
		case resp == nil || err != nil || resp.StatusCode != last.code:
			t.Fatalf("got %v, %v; want the %d response and no error", resp, err, last.code)
		}
		if resp != nil {
			// The caller reads the whole body, whether or not httpx read it
			// ahead into memory to free the connection before a wait.
			b, err := io.ReadAll(resp.Body)
			if err != nil || string(b) != http.StatusText(last.code) {
				t.Fatalf("returned body %q, %v; want %q", b, err, http.StatusText(last.code))
			}
			_ = resp.Body.Close()
		}
		for i, b := range rt.bodies {
			if !b.closed {
				t.Fatalf("body %d not closed", i)
			}
			returned := resp != nil && i == len(rt.bodies)-1
			if !returned && !b.eof {
				t.Fatalf("retried body %d not drained", i)
			}
		}
	})
}
