package jetstreamx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// The settling paths no server test reaches on purpose, on a fake
// message, bucket and dead-letter stream: each delivery is one call of
// the handler, with the delivery count the server would give.

// settleFixture is a Retrier over fakes, its handler for a consumer with
// maxDeliver, and what it reported.
type settleFixture struct {
	at   time.Time // the fake clock
	kv   *fakeKV
	dead *deadLetters
	rep  *reports
	h    jetstream.MessageHandler
}

func newSettle(t *testing.T, ctx context.Context, maxDeliver int, h jetstreamx.Handler, opts ...retry.Option) *settleFixture {
	t.Helper()
	s := &settleFixture{at: published, kv: &fakeKV{}, dead: &deadLetters{}, rep: &reports{}}
	r, err := jetstreamx.New(fakeJS{dead: s.dead}, jetstreamx.Config{Progress: s.kv, DeadLetter: "dead", Defer: time.Second,
		OnError: s.rep.add, Now: func() time.Time { return s.at }}, opts...)
	require.NoError(t, err)
	s.h, err = r.Handler(ctx, newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: maxDeliver}), h)
	require.NoError(t, err)
	return s
}

func (s *settleFixture) state(t *testing.T) jetstreamx.State {
	t.Helper()
	var st jetstreamx.State
	require.NoError(t, json.Unmarshal(s.kv.get(jetstreamx.StateKey("S", "C", 1)), &st))
	return st
}

var published = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// On the last delivery MaxDeliver allows, a deferral cannot come back: an
// open breaker ends the message, with its dead-letter copy saying so.
func TestLastDeliveryEndsWhatWouldBeDeferred(t *testing.T) {
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	ran := 0
	s := newSettle(t, context.Background(), 4, func(context.Context, jetstream.Msg) error { ran++; return errFlaky },
		retry.WithBreaker(breaker), retry.WithBackoff(retry.Constant(0)))
	first := newFakeMsg(1, 1, published)
	s.h(first) // fails: the breaker opens
	kind, _ := first.settled()
	require.Equal(t, "nak", kind)
	for n := uint64(2); n <= 3; n++ {
		s.at = s.at.Add(time.Second) // the server delivers it when due
		m := newFakeMsg(1, n, published)
		s.h(m)
		kind, delay := m.settled()
		assert.Equal(t, "nak", kind, "delivery %d deferred", n)
		assert.Equal(t, time.Second, delay, "at least Config.Defer")
	}
	s.at = s.at.Add(time.Second)
	last := newFakeMsg(1, 4, published)
	s.h(last)
	kind, _ = last.settled()
	assert.Equal(t, "term", kind)
	assert.Equal(t, 1, ran)
	dead := s.dead.all()
	require.Len(t, dead, 1)
	assert.Equal(t, "circuit_open", dead[0].Header.Get(jetstreamx.HeaderReason))
	assert.Equal(t, "1", dead[0].Header.Get(jetstreamx.HeaderAttempts))
	assert.Equal(t, "4", dead[0].Header.Get(jetstreamx.HeaderDeliveries))
	assert.Nil(t, s.kv.get(jetstreamx.StateKey("S", "C", 1)), "state forgotten")
	assert.Empty(t, s.rep.all())
}

// A dead-letter copy that cannot be published does not lose the message:
// it comes back, and the next delivery publishes the copy and terminates
// it without running the handler again.
func TestDeadLetterRetriedOnTheNextDelivery(t *testing.T) {
	ran := 0
	s := newSettle(t, context.Background(), 0, func(context.Context, jetstream.Msg) error { ran++; return retry.Permanent(errDeclined) })
	s.dead.setDown(true)
	m := newFakeMsg(1, 1, published)
	s.h(m)
	kind, delay := m.settled()
	assert.Equal(t, "nak", kind)
	assert.Equal(t, time.Second, delay)
	st := s.state(t)
	assert.Equal(t, "retry: permanent error after 1 attempt: card declined", st.Stopped)
	assert.Equal(t, "permanent", st.Reason)
	require.Len(t, s.rep.all(), 1)
	assert.Contains(t, s.rep.joined(), `publishing the dead-letter copy to "dead"`)

	s.dead.setDown(false)
	s.at = s.at.Add(time.Second)
	m = newFakeMsg(1, 2, published)
	s.h(m)
	kind, _ = m.settled()
	assert.Equal(t, "term", kind)
	assert.Equal(t, 1, ran, "the handler did not run again")
	dead := s.dead.all()
	require.Len(t, dead, 1)
	assert.Equal(t, "permanent", dead[0].Header.Get(jetstreamx.HeaderReason))
	assert.Equal(t, "retry: permanent error after 1 attempt: card declined", dead[0].Header.Get(jetstreamx.HeaderError))
	assert.Equal(t, "1", dead[0].Header.Get(jetstreamx.HeaderAttempts))
	assert.Nil(t, s.kv.get(jetstreamx.StateKey("S", "C", 1)))
}

// A handler that fails because the consumer is stopping (the context given
// to Handler ended) is not counted as an attempt: its message comes back
// after Config.Defer and runs as attempt 1.
func TestStoppingDoesNotSpendAnAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &decisions{}
	s := newSettle(t, ctx, 0, func(ctx context.Context, _ jetstream.Msg) error {
		cancel()
		return ctx.Err()
	}, retry.WithObserver(d.observer()))
	m := newFakeMsg(1, 1, published)
	s.h(m)
	kind, delay := m.settled()
	assert.Equal(t, "nak", kind)
	assert.Equal(t, time.Second, delay)
	st := s.state(t)
	assert.Equal(t, 0, st.Progress.Attempts, "the attempt counts as nothing")
	assert.EqualValues(t, 2, st.Next)
	assert.Equal(t, "context canceled after 1 attempt: context canceled", st.Deferred)

	// Delivered while still stopping: not run, sent back again.
	s.at = s.at.Add(time.Second)
	m = newFakeMsg(1, 2, published)
	s.h(m)
	kind, _ = m.settled()
	assert.Equal(t, "nak", kind)
	assert.Equal(t, []int{1}, d.started())
	assert.Empty(t, s.dead.all())
}

// A handler that acknowledges the message itself: its acknowledgement
// stands, and the adapter's own, refused, is reported.
func TestHandlerAcknowledgesItself(t *testing.T) {
	s := newSettle(t, context.Background(), 0, func(_ context.Context, msg jetstream.Msg) error { return msg.Ack() })
	m := newFakeMsg(1, 1, published)
	s.h(m)
	kind, _ := m.settled()
	assert.Equal(t, "ack", kind)
	assert.Equal(t, []string{"jetstreamx: acknowledging the message: nats: message was already acknowledged"}, s.rep.all())
}

// A redelivery whose earlier deliveries left no state (lost before any
// report) counts them as attempts: with an attempt limit of 3 and two
// lost deliveries, the third delivery is the last attempt.
func TestLostDeliveriesCount(t *testing.T) {
	ran := 0
	s := newSettle(t, context.Background(), 0, func(context.Context, jetstream.Msg) error { ran++; return errFlaky },
		retry.WithMaxAttempts(3))
	m := newFakeMsg(1, 3, published)
	s.h(m)
	kind, _ := m.settled()
	assert.Equal(t, "term", kind)
	assert.Equal(t, 1, ran)
	dead := s.dead.all()
	require.Len(t, dead, 1)
	assert.Equal(t, "exhausted", dead[0].Header.Get(jetstreamx.HeaderReason))
	assert.Equal(t, "3", dead[0].Header.Get(jetstreamx.HeaderAttempts))
}

// Clocks that disagree between the worker that decided a retry and the
// one that receives it cost no extra delivery: with the deciding worker
// 30ms ahead, each retry is delivered 30ms "early" on the receiving
// worker's clock, and runs. With MaxDeliver equal to the policy's limit, a
// message failing 3 times then succeeding still runs 4 times and is
// acknowledged. (Before, each such delivery was sent back for 30ms,
// spending a delivery: the message ended "exhausted" after 2 runs.) A
// delivery seconds early (a restarted server) is still sent back.
func TestClockSkewBetweenWorkers(t *testing.T) {
	ran := 0
	s := newSettle(t, context.Background(), 4, func(context.Context, jetstream.Msg) error {
		ran++
		if ran <= 3 {
			return errFlaky
		}
		return nil
	}, retry.WithMaxAttempts(4), retry.WithBackoff(retry.Constant(2*time.Second)), retry.WithJitter(retry.NoJitter))
	const skew = 30 * time.Millisecond
	for n := uint64(1); n <= 4; n++ {
		m := newFakeMsg(1, n, published)
		s.h(m)
		kind, delay := m.settled()
		if n == 4 {
			assert.Equal(t, "ack", kind)
			break
		}
		require.Equal(t, "nak", kind, "delivery %d", n)
		require.Equal(t, 2*time.Second, delay, "delivery %d: a retry, not a deferral", n)
		s.at = s.at.Add(delay - skew) // the receiving worker's clock is behind the deciding one's
	}
	assert.Equal(t, 4, ran)

	// Seconds early: sent back for the rest of the wait, not run.
	s = newSettle(t, context.Background(), 0, func(context.Context, jetstream.Msg) error { return errFlaky },
		retry.WithBackoff(retry.Constant(10*time.Second)), retry.WithJitter(retry.NoJitter))
	s.h(newFakeMsg(1, 1, published))
	s.at = s.at.Add(time.Second)
	m := newFakeMsg(1, 2, published)
	s.h(m)
	kind, delay := m.settled()
	assert.Equal(t, "nak", kind)
	assert.Equal(t, 9*time.Second, delay, "the rest of the wait")
	assert.Equal(t, 1, s.state(t).Progress.Attempts, "not run")
}
