package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRT is an in-memory RoundTripper for tests in a synctest bubble,
// where no real socket can live. answer makes the n-th response (from 1).
type fakeRT struct {
	answer func(n int, r *http.Request) (*http.Response, error)

	mu     sync.Mutex
	n      int
	bodies []*trackedBody
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	resp, err := f.answer(n, r)
	if resp != nil {
		tb := &trackedBody{r: strings.NewReader(http.StatusText(resp.StatusCode))}
		resp.Body, resp.Request = tb, r
		f.mu.Lock()
		f.bodies = append(f.bodies, tb)
		f.mu.Unlock()
	}
	return resp, err
}

func (f *fakeRT) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// trackedBody records whether a response body was read to the end and closed.
type trackedBody struct {
	r      *strings.Reader
	mu     sync.Mutex
	eof    bool
	closed bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("read after close")
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *trackedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// status returns a response with code and, if given, a Retry-After header.
func status(code int, retryAfter ...string) *http.Response {
	h := http.Header{}
	if len(retryAfter) > 0 {
		h.Set("Retry-After", retryAfter[0])
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h, ProtoMajor: 1, ProtoMinor: 1}
}

// statuses answers with codes in turn, the last one repeated.
func statuses(codes ...int) func(int, *http.Request) (*http.Response, error) {
	return func(n int, _ *http.Request) (*http.Response, error) {
		return status(codes[min(n, len(codes))-1]), nil
	}
}

var noJitter = retry.WithJitter(retry.NoJitter)

func get(t *testing.T, ctx context.Context) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test/v1", nil)
	require.NoError(t, err)
	return req
}

func TestVirtualTime503TwiceThen200(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{answer: statuses(503, 503, 200)}
		start := time.Now()
		resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), noJitter)
		require.NoError(t, err)
		assert.Equal(t, 300*time.Millisecond, time.Since(start), "100ms then 200ms, the default backoff")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "OK", readClose(t, resp))
		require.Len(t, rt.bodies, 3)
		for _, b := range rt.bodies[:2] {
			assert.True(t, b.eof && b.closed, "a retried response is drained and closed")
		}
	})
}

func TestVirtualTimeRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		date := func(layout string, d time.Duration) func() string {
			return func() string { return time.Now().Add(d).UTC().Format(layout) }
		}
		seconds := func(v string) func() string { return func() string { return v } }
		cases := []struct {
			name  string
			value func() string // evaluated when the response is made
			want  time.Duration
		}{
			{"seconds", seconds("2"), 2 * time.Second},
			{"zero", seconds("0"), 0},
			{"IMF-fixdate", date(http.TimeFormat, 3*time.Second), 3 * time.Second},
			{"RFC 850", date(time.RFC850, 4*time.Second), 4 * time.Second},
			{"asctime", date(time.ANSIC, 5*time.Second), 5 * time.Second},
			{"date in the past", date(http.TimeFormat, -time.Hour), 0},
		}
		for _, tc := range cases {
			for _, code := range []int{429, 503} {
				rt := &fakeRT{answer: func(n int, _ *http.Request) (*http.Response, error) {
					if n == 1 {
						return status(code, tc.value()), nil
					}
					return status(200), nil
				}}
				var notified []time.Duration
				start := time.Now()
				resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), retry.WithExactHints(),
					retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { notified = append(notified, a.Wait) }))
				require.NoError(t, err, tc.name)
				assert.Equal(t, 200, resp.StatusCode, tc.name)
				readClose(t, resp)
				assert.Equal(t, tc.want, time.Since(start), "%s %d", tc.name, code)
				assert.Equal(t, []time.Duration{tc.want}, notified, tc.name)
			}
		}
	})
}

func TestVirtualTimeRetryAfterJittered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 50 {
			rt := &fakeRT{answer: func(n int, _ *http.Request) (*http.Response, error) {
				if n == 1 {
					return status(429, "2"), nil
				}
				return status(200), nil
			}}
			start := time.Now()
			resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()))
			require.NoError(t, err)
			readClose(t, resp)
			waited := time.Since(start)
			// The hint plus a full-jitter spread of the first retry's base (100ms).
			assert.GreaterOrEqual(t, waited, 2*time.Second)
			assert.LessOrEqual(t, waited, 2*time.Second+100*time.Millisecond)
		}
	})
}

func TestVirtualTimeMalformedRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, v := range []string{"soon", "-5", "1.5", "9s", "Mon, 32 Foo 2020", " "} {
			rt := &fakeRT{answer: func(n int, _ *http.Request) (*http.Response, error) {
				if n == 1 {
					return status(503, v), nil
				}
				return status(200), nil
			}}
			start := time.Now()
			resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()),
				noJitter, retry.WithBackoff(retry.Constant(250*time.Millisecond)))
			require.NoError(t, err, v)
			readClose(t, resp)
			assert.Equal(t, 250*time.Millisecond, time.Since(start), "%q falls back to the backoff", v)
		}
	})
}

func TestVirtualTimeHintTooLongOrPastDeadline(t *testing.T) {
	// The default maximum delay is 30s; a number of seconds or a date too
	// far ahead for a time.Duration is the longest hint of all.
	for _, hint := range []string{"31", "99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		t.Run("beyond max delay "+hint, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{answer: func(int, *http.Request) (*http.Response, error) { return status(503, hint), nil }}
				start := time.Now()
				resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()))
				require.NoError(t, err)
				assert.Zero(t, time.Since(start))
				assert.Equal(t, 503, resp.StatusCode)
				assert.Equal(t, hint, resp.Header.Get("Retry-After"))
				assert.Equal(t, http.StatusText(http.StatusServiceUnavailable), readClose(t, resp))
				assert.Equal(t, 1, rt.calls())
			})
		})
	}
	t.Run("past the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			rt := &fakeRT{answer: func(int, *http.Request) (*http.Response, error) { return status(429, "2"), nil }}
			start := time.Now()
			resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, ctx))
			require.NoError(t, err, "the deadline leaves no room: the response comes back")
			assert.Zero(t, time.Since(start), "no wait that cannot finish in time")
			assert.Equal(t, 429, resp.StatusCode)
			assert.Equal(t, "2", resp.Header.Get("Retry-After"))
			readClose(t, resp)
		})
	})
	t.Run("deadline bounds the sequence", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			rt := &fakeRT{answer: statuses(503)}
			start := time.Now()
			resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, ctx), noJitter,
				retry.WithBackoff(retry.Constant(300*time.Millisecond)), retry.WithMaxAttempts(0))
			require.NoError(t, err)
			readClose(t, resp)
			assert.Equal(t, 900*time.Millisecond, time.Since(start), "three waits fit, the fourth would end at the deadline")
			assert.Equal(t, 4, rt.calls())
		})
	})
}

func TestVirtualTimeBudgetAndBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
		require.NoError(t, err)
		rt := &fakeRT{answer: statuses(503)}
		tr := httpx.NewTransport(rt, retry.WithBudget(b), noJitter)
		resp, err := tr.RoundTrip(get(t, t.Context()))
		require.NoError(t, err, "a budget that stops on a status returns the response")
		assert.Equal(t, 503, resp.StatusCode)
		readClose(t, resp)
		assert.Equal(t, 2, rt.calls(), "one token: one retry")

		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Minute})
		require.NoError(t, err)
		rt = &fakeRT{answer: statuses(503)}
		tr = httpx.NewTransport(rt, noJitter)
		ctx := httpx.WithOptions(t.Context(), retry.WithBreaker(br))
		resp, err = tr.RoundTrip(get(t, ctx))
		require.NoError(t, err, "the breaker opened after a response: it comes back")
		assert.Equal(t, 503, resp.StatusCode)
		readClose(t, resp)
		assert.Equal(t, 2, rt.calls(), "two failures open the breaker")
		assert.Equal(t, retry.BreakerOpen, br.State())
		// The next request is rejected before anything is sent.
		resp, err = tr.RoundTrip(get(t, ctx))
		assert.Nil(t, resp)
		require.ErrorIs(t, err, retry.ErrCircuitOpen)
		assert.Equal(t, 2, rt.calls())
	})
}
