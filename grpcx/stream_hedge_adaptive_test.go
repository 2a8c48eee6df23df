package grpcx_test

import (
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
)

// TestHedgeStreamAdaptiveDelayLearns: hedged streams teach
// WithAdaptiveHedge's estimator with no Observe of grpcx's: after enough
// streams whose headers come 5ms after they are sent, the delay, 200ms
// at first, is about 5ms, and the next stream, whose first copy never
// answers, sends its hedge then.
func TestHedgeStreamAdaptiveDelayLearns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const answer = 5 * time.Millisecond
		d, err := retry.NewHedgeDelay(0.9, 200*time.Millisecond)
		require.NoError(t, err)
		l := newCopyLog()
		var hangFirst atomic.Bool
		answers := func(c string, s duplexServer) error {
			time.Sleep(answer)
			if err := s.SendHeader(metadata.Pairs("copy", c)); err != nil {
				return err
			}
			return s.Send(reply("from " + c))
		}
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error {
				if hangFirst.Load() {
					return l.hang(c, s)
				}
				return answers(c, s)
			},
			"1": answers,
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAdaptiveHedge(d, 2))...)
		stream := func() string {
			s, err := c.FullDuplexCall(t.Context())
			require.NoError(t, err)
			require.NoError(t, s.CloseSend())
			m, err := s.Recv()
			require.NoError(t, err)
			_, err = s.Recv()
			assert.Equal(t, io.EOF, err)
			synctest.Wait() // the losers are reported
			return string(m.GetPayload().GetBody())
		}
		for i := range 100 { // the estimator's warm-up: 10/(1-0.9) latencies
			assert.Equal(t, 200*time.Millisecond, d.Delay(), "stream %d: the initial delay until the warm-up is over", i)
			assert.Equal(t, "from ", stream())
		}
		learned := d.Delay()
		assert.InDelta(t, float64(answer), float64(learned), float64(answer)/64)

		hangFirst.Store(true)
		l.mu.Lock()
		l.t0 = time.Now()
		l.mu.Unlock()
		assert.Equal(t, "from 1", stream())
		started, _, cancelled := l.snapshot()
		assert.Equal(t, learned, started["1"], "the hedge is sent after the learned delay")
		assert.True(t, cancelled[""])
	})
}
