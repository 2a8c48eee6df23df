package benchmarks

import (
	"context"
	"io"
	"net/http"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// Getter performs one logical GET of url, with whatever retries its library
// does, reads and closes the final response body, and returns the final
// status code. A Getter is safe for concurrent use.
type Getter func(ctx context.Context, url string) (int, error)

// newTransport returns a fresh transport with net/http's default settings,
// so that no two clients share a connection pool.
func newTransport() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone()
}

// finish drains and closes resp's body so the connection is reused, and
// returns its status.
func finish(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// NewNetHTTP returns a Getter for a plain net/http client: one request, no
// retries. It is the floor of the HTTP workloads.
func NewNetHTTP() Getter {
	c := &http.Client{Transport: newTransport()}
	return func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return finish(c.Do(req))
	}
}

// NewNetHTTPLoop returns a Getter for net/http with a retry loop written by
// hand: up to MaxAttempts requests while the status is 5xx (but 501), each
// retried response drained and closed, no delay.
func NewNetHTTPLoop() Getter {
	c := &http.Client{Transport: newTransport()}
	return func(ctx context.Context, url string) (int, error) {
		for attempt := 1; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return 0, err
			}
			status, err := finish(c.Do(req))
			if err != nil || status < 500 || status == http.StatusNotImplemented || attempt == MaxAttempts {
				return status, err
			}
		}
	}
}

// NewRetryablehttp returns a Getter for hashicorp/go-retryablehttp, set up
// as its README shows: retryablehttp.NewClient() (with its own pooled
// transport) and client.Do on a retryablehttp.Request. RetryMax is
// MaxAttempts-1, RetryWaitMin and RetryWaitMax are 0 so its DefaultBackoff
// returns 0, and Logger is nil so nothing is logged. A zero wait still arms
// a timer.
func NewRetryablehttp() Getter {
	c := retryablehttp.NewClient()
	c.RetryMax = MaxAttempts - 1
	c.RetryWaitMin = 0
	c.RetryWaitMax = 0
	c.Logger = nil
	return func(ctx context.Context, url string) (int, error) {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return finish(c.Do(req))
	}
}

// NewFailsafeHTTP returns a Getter for failsafe-go's failsafehttp package,
// as its examples show: an http.Client whose transport is
// failsafehttp.NewRoundTripper with failsafehttp.NewRetryPolicyBuilder(),
// MaxAttempts attempts and no delay (the builder's default when there is no
// Retry-After header).
func NewFailsafeHTTP() Getter {
	rp := failsafehttp.NewRetryPolicyBuilder().WithMaxAttempts(MaxAttempts).Build()
	c := &http.Client{Transport: failsafehttp.NewRoundTripper(newTransport(), rp)}
	return func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return finish(c.Do(req))
	}
}

// NewRetrykitHTTP returns a Getter for retrykit's httpx.Do with a policy
// built once: MaxAttempts attempts, Constant(0), NoJitter. httpx drains and
// closes each retried response so the connection is reused.
func NewRetrykitHTTP() Getter {
	p := retrykitHTTPPolicy()
	c := &http.Client{Transport: newTransport()}
	return func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return finish(httpx.Do(c, req, p))
	}
}

// NewRetrykitTransport returns a Getter for an http.Client whose transport
// is httpx.NewTransport with the same policy: the way to give retries to
// code that already takes an *http.Client.
func NewRetrykitTransport() Getter {
	c := &http.Client{Transport: httpx.NewTransport(newTransport(), retrykitHTTPPolicy())}
	return func(ctx context.Context, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		return finish(c.Do(req))
	}
}

func retrykitHTTPPolicy() *retry.Policy {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(MaxAttempts),
		retry.WithBackoff(retry.Constant(0)), retry.WithJitter(retry.NoJitter))
	if err != nil {
		panic(err) // the options are constants: a failure is a bug here
	}
	return p
}
