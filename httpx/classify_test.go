package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusError(t *testing.T) {
	e := &httpx.StatusError{StatusCode: 503, Status: "503 Service Unavailable", RetryAfter: 2 * time.Second}
	assert.Equal(t, "httpx: server answered 503 Service Unavailable (Retry-After 2s)", e.Error())
	assert.Equal(t, "httpx: server answered 404", (&httpx.StatusError{StatusCode: 404}).Error())

	for code := 100; code <= 999; code++ {
		want := code == 408 || code == 429 || (code >= 500 && code <= 599 && code != 501)
		assert.Equal(t, want, (&httpx.StatusError{StatusCode: code}).Retryable(), "%d", code)
	}
}

func TestRetryStatusesClassifier(t *testing.T) {
	codes := []int{404, 503}
	c := httpx.RetryStatuses(codes...)
	codes[0] = 500 // the classifier keeps its own copy
	wrapped := func(code int) error {
		return fmt.Errorf("wrapped: %w", &httpx.StatusError{StatusCode: code})
	}
	assert.Equal(t, retry.Retryable, c(wrapped(404)))
	assert.Equal(t, retry.Retryable, c(&httpx.StatusError{StatusCode: 503}))
	assert.Equal(t, retry.Terminal, c(wrapped(500)))
	assert.Equal(t, retry.Terminal, c(wrapped(429)))
	assert.Equal(t, retry.Unclassified, c(errors.New("connection reset")))
	off := httpx.RetryStatuses()
	assert.Equal(t, retry.Terminal, off(wrapped(503)))
	assert.Equal(t, retry.Unclassified, off(errors.New("connection reset")))
}

func TestMethodsAndIdempotencyKeys(t *testing.T) {
	cases := []struct {
		method string
		header http.Header
		want   int // attempts against a server that always answers 503
	}{
		{http.MethodGet, nil, 3},
		{"", nil, 3},
		{http.MethodHead, nil, 3},
		{http.MethodOptions, nil, 3},
		{http.MethodTrace, nil, 3},
		{http.MethodPut, nil, 3},
		{http.MethodDelete, nil, 3},
		{http.MethodPost, nil, 1},
		{http.MethodPatch, nil, 1},
		{"LOCK", nil, 1},
		{http.MethodPatch, http.Header{"Idempotency-Key": {"a"}}, 3},
		{http.MethodPatch, http.Header{"X-Idempotency-Key": nil}, 3},
		{http.MethodPost, http.Header{"idempotency-key": {"a"}}, 1}, // not canonical: net/http ignores it too
	}
	for _, tc := range cases {
		rt := &fakeRT{answer: statuses(503)}
		req, err := http.NewRequest(tc.method, "http://api.test/x", strings.NewReader("body"))
		require.NoError(t, err)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := httpx.Do(&http.Client{Transport: rt}, req,
			retry.WithBackoff(retry.Constant(0)), retry.WithMaxAttempts(3))
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
		readClose(t, resp)
		assert.Equal(t, tc.want, rt.calls(), "%s %v", tc.method, tc.header)
	}
}

func TestRetryAfterRespectsClassifiers(t *testing.T) {
	rt := &fakeRT{answer: func(n int, _ *http.Request) (*http.Response, error) {
		if n == 1 {
			return status(503, "0"), nil
		}
		return status(200), nil
	}}
	// The hint is obeyed when the policy retries the status...
	resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), retry.WithClassifier(httpx.RetryStatuses(503)))
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	readClose(t, resp)
	assert.Equal(t, 2, rt.calls())

	// ...and ignored when it does not, whatever the breaker or budget.
	b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1})
	require.NoError(t, err)
	rt = &fakeRT{answer: func(int, *http.Request) (*http.Response, error) { return status(503, "0"), nil }}
	var noted []error
	resp, err = httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), retry.WithBreaker(b),
		retry.WithClassifier(httpx.RetryStatuses(502)), retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { noted = append(noted, a.Err) }))
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode)
	readClose(t, resp)
	assert.Equal(t, 1, rt.calls())
	assert.Empty(t, noted)
	assert.Equal(t, retry.BreakerClosed, b.State(), "a status the policy does not retry is not a failure")
}

type nilRT struct{}

func (nilRT) RoundTrip(*http.Request) (*http.Response, error) { return nil, nil }

func TestBrokenRoundTripper(t *testing.T) {
	resp, err := httpx.NewTransport(nilRT{}).RoundTrip(get(t, t.Context()))
	assert.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrPermanent)
	assert.ErrorContains(t, err, "nil *http.Response with a nil error")
}

// bothRT breaks the RoundTripper contract: it returns a response and an
// error together, and records whether the response's body was closed.
type bothRT struct{ body *closeRecorder }

func (r *bothRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: r.body, Header: http.Header{}}, errors.New("both")
}

func TestRoundTripperResponseAndError(t *testing.T) {
	rt := &bothRT{body: newBody("ignored")}
	resp, err := httpx.NewTransport(rt, retry.WithMaxAttempts(1)).RoundTrip(get(t, t.Context()))
	assert.Nil(t, resp, "never a response with an error")
	require.ErrorContains(t, err, "both")
	assert.True(t, rt.body.closed.Load(), "the ignored response's body is closed")
}

// nilBodyRT answers 503 and then 200, with a nil Body as many test
// RoundTrippers do (http.Client accepts it as an empty body).
type nilBodyRT struct{ n atomic.Int32 }

func (r *nilBodyRT) RoundTrip(*http.Request) (*http.Response, error) {
	code := http.StatusServiceUnavailable
	if r.n.Add(1) > 1 {
		code = http.StatusOK
	}
	return &http.Response{StatusCode: code, Header: http.Header{}}, nil
}

func TestRoundTripperNilBody(t *testing.T) {
	for name, opts := range map[string][]retry.Option{
		"plain":           {retry.WithBackoff(retry.Constant(0))},
		"attempt timeout": {retry.WithBackoff(retry.Constant(0)), retry.WithAttemptTimeout(time.Minute)},
	} {
		t.Run(name, func(t *testing.T) {
			rt := &nilBodyRT{}
			resp, err := httpx.NewTransport(rt, opts...).RoundTrip(get(t, t.Context()))
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotNil(t, resp.Body)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Empty(t, b)
			require.NoError(t, resp.Body.Close())
			assert.EqualValues(t, 2, rt.n.Load())

			rt = &nilBodyRT{}
			resp, err = httpx.NewTransport(rt, append(opts, retry.WithMaxAttempts(1))...).RoundTrip(get(t, t.Context()))
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			require.NotNil(t, resp.Body)
			require.NoError(t, resp.Body.Close())
		})
	}
}

// A POST without an idempotency key that gets a 503 is not retried, and a
// breaker counts it as a failure (the dependency failed; sending again was
// only unsafe); a 404 is the dependency answering.
func TestUnsafeRetryIsABreakerFailure(t *testing.T) {
	e := newEnv(t)
	codes := map[int]retry.BreakerState{http.StatusServiceUnavailable: retry.BreakerOpen, http.StatusNotFound: retry.BreakerClosed}
	for code, want := range codes {
		srv, _ := e.server(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
		b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
		require.NoError(t, err)
		for range 2 {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("x"))
			require.NoError(t, err)
			resp, err := httpx.Do(e.client(), req, retry.WithBreaker(b), retry.WithBackoff(retry.Constant(0)))
			require.NoError(t, err)
			assert.Equal(t, code, resp.StatusCode)
			readClose(t, resp)
		}
		assert.Equal(t, want, b.State(), "%d", code)
	}
}
