package httpx_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVirtualTimeAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{answer: func(n int, r *http.Request) (*http.Response, error) {
			if n < 3 {
				<-r.Context().Done() // slower than the attempt timeout
				return nil, r.Context().Err()
			}
			return status(200), nil
		}}
		start := time.Now()
		resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), noJitter,
			retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithAttemptTimeout(time.Second))
		require.NoError(t, err)
		assert.Equal(t, 2200*time.Millisecond, time.Since(start))
		assert.Equal(t, "OK", readClose(t, resp), "readable after the attempt ended")
		assert.Equal(t, 3, rt.calls())
	})
}

// stallingRT answers 503 with a body that sends a few bytes and then
// stalls until the request's context ends, then 200.
type stallingRT struct{ n atomic.Int32 }

type stallingBody struct {
	ctx  context.Context
	sent bool
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "Service"), nil
	}
	<-b.ctx.Done()
	return 0, context.Cause(b.ctx)
}

func (b *stallingBody) Close() error { return nil }

func (s *stallingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.n.Add(1) > 1 {
		resp := status(200)
		resp.Body = io.NopCloser(strings.NewReader("OK"))
		return resp, nil
	}
	resp := status(503)
	resp.Body = &stallingBody{ctx: r.Context()}
	return resp, nil
}

// TestVirtualTimeStalledBodyTimesTheAttemptOut: a response to be retried
// is read ahead under the attempt's deadline, so a body that stalls ends
// the attempt at its timeout (and the loop retries) instead of holding the
// whole call.
func TestVirtualTimeStalledBodyTimesTheAttemptOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &stallingRT{}
		start := time.Now()
		resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, t.Context()), noJitter,
			retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithAttemptTimeout(time.Second))
		require.NoError(t, err)
		assert.Equal(t, 1100*time.Millisecond, time.Since(start), "the attempt timeout, then the backoff")
		assert.Equal(t, "OK", readClose(t, resp))
		assert.EqualValues(t, 2, rt.n.Load())
	})
}

func TestVirtualTimeCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(500*time.Millisecond, cancel)
		rt := &fakeRT{answer: statuses(503)}
		start := time.Now()
		resp, err := httpx.Do(&http.Client{Transport: rt}, get(t, ctx), noJitter,
			retry.WithBackoff(retry.Constant(time.Second)))
		assert.Nil(t, resp)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 500*time.Millisecond, time.Since(start))
		require.Len(t, rt.bodies, 1)
		assert.True(t, rt.bodies[0].closed, "the response the caller will never see is closed")
	})
}
