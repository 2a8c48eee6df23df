package jetstreamx_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/retrykit/retry/jetstreamx"
)

// A handler that runs for 10.5 s of a consumer whose AckWait is 3 s marks
// its message in progress every second (KeepAlive) while it runs, so that
// the server does not deliver it again; the keep-alive stops when the
// handler returns, and no goroutine the adapter started outlives it.
// Virtual time: the handler's time and the ticker's seconds are exact.
func TestKeepAliveWhileTheHandlerRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		r, err := jetstreamx.New(fakeJS{}, jetstreamx.Config{Progress: &fakeKV{}, KeepAlive: time.Second})
		require.NoError(t, err)
		h, err := r.Handler(context.Background(), newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, AckWait: 3 * time.Second}),
			func(ctx context.Context, msg jetstream.Msg) error {
				time.Sleep(10*time.Second + 500*time.Millisecond) // the handler's own work
				return nil
			})
		require.NoError(t, err)
		msg := newFakeMsg(1, 1, time.Now())
		h(msg)
		goleak.VerifyNone(t, before)
		kind, _ := msg.settled()
		assert.Equal(t, "ack", kind)
		assert.Equal(t, 10, msg.progress, "once a second for 10 s")
		time.Sleep(time.Minute)
		assert.Equal(t, 10, msg.progress, "none after the handler returned")
	})
}

// The keep-alive interval defaults to a third of AckWait.
func TestKeepAliveDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := jetstreamx.New(fakeJS{}, jetstreamx.Config{Progress: &fakeKV{}})
		require.NoError(t, err)
		h, err := r.Handler(context.Background(), newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second}),
			func(ctx context.Context, msg jetstream.Msg) error {
				time.Sleep(65 * time.Second)
				return nil
			})
		require.NoError(t, err)
		msg := newFakeMsg(1, 1, time.Now())
		h(msg)
		assert.Equal(t, 6, msg.progress, "every 10 s for 65 s")
	})
}
