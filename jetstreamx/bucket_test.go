package jetstreamx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// What the adapter does when the progress bucket fails, on nats-server:
// the bucket and the dead-letter stream are deleted under a running
// consumer (their requests then fail).

// A message the policy ended whose dead-letter copy cannot be published,
// and whose stop cannot be stored for the next delivery to publish it, is
// terminated without its copy, and both failures are reported: it never
// runs again. (Before, it came back; the next delivery could not read the
// stop, rebuilt a fresh state and ran the handler again.)
func TestUnstorableStopTerminates(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, DeadLetter: f.dead, Defer: 100 * time.Millisecond, OnError: rep.add})
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	adv := advisories(t, js, f.name, cons.CachedInfo().Name)
	rec := &recorder{}
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, js.DeleteStream(ctx, f.name+"-dead"))
	require.NoError(t, js.DeleteKeyValue(ctx, f.name+"-progress"))
	consumeAll(t, cons, h)

	seq := f.publish(t, "9 notidempotent") // the handler's effect is unknown: it must not run again
	select {
	case a := <-adv:
		assert.Equal(t, seq, a.StreamSeq)
		assert.EqualValues(t, 1, a.Deliveries)
	case <-time.After(10 * time.Second):
		t.Fatalf("not terminated; reports: %s", rep.joined())
	}
	waitSettled(t, cons)
	assert.Len(t, rec.of(seq), 1, "the handler ran once")
	require.NotEmpty(t, rep.all())
	assert.Contains(t, rep.all()[0], "publishing the dead-letter copy")
	assert.Contains(t, rep.all()[0], "terminated without it, since the stop could not be stored")
	assert.Contains(t, rep.all()[0], "storing the retry state")
}

// A redelivery whose state the bucket does not return is not run: the
// state may say the message ended. It comes back after Config.Defer, and
// runs once the bucket answers. (Before, it ran with a fresh state.)
func TestUnreadableStateDefers(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Defer: 100 * time.Millisecond, OnError: rep.add},
		retry.WithBackoff(retry.Constant(300*time.Millisecond)), retry.WithJitter(retry.NoJitter))
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	rec := &recorder{}
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)
	ctx := context.Background()

	seq := f.publish(t, "1") // fails once, then succeeds
	waitRuns(t, rec, seq, 1)
	key := jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq)
	require.Eventually(t, func() bool { _, err := f.kv.Get(ctx, key); return err == nil }, 10*time.Second, time.Millisecond, "state stored")
	require.NoError(t, js.DeleteKeyValue(ctx, f.name+"-progress"))
	require.Eventually(t, func() bool { return strings.Contains(rep.joined(), "reading the retry state") }, 10*time.Second, time.Millisecond,
		"the redelivery read the bucket")
	_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: f.name + "-progress", TTL: time.Hour})
	require.NoError(t, err)

	runs := waitRuns(t, rec, seq, 2)
	waitSettled(t, cons)
	require.Len(t, rec.of(seq), 2)
	assert.EqualValues(t, 1, runs[0].Delivered)
	assert.Greater(t, runs[1].Delivered, uint64(2), "the delivery that could not read its state did not run")
	assert.Contains(t, rep.all()[0], "the message is not run, and comes back after 100ms")
}

// On the last delivery MaxDeliver allows, a message whose state cannot be
// read cannot come back: it is ended without running, its dead-letter copy
// saying why.
func TestUnreadableStateOnTheLastDelivery(t *testing.T) {
	ran := 0
	s := newSettle(t, context.Background(), 2, func(context.Context, jetstream.Msg) error { ran++; return errFlaky },
		retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	s.h(newFakeMsg(1, 1, published))
	require.Equal(t, 1, ran)
	s.kv.setGetErr(errBucketDown)
	last := newFakeMsg(1, 2, published)
	s.h(last)
	kind, _ := last.settled()
	assert.Equal(t, "term", kind)
	assert.Equal(t, 1, ran, "not run")
	dead := s.dead.all()
	require.Len(t, dead, 1)
	assert.Equal(t, jetstreamx.ReasonStateUnreadable, dead[0].Header.Get(jetstreamx.HeaderReason))
	assert.Contains(t, dead[0].Header.Get(jetstreamx.HeaderError), "bucket down")
	assert.Contains(t, s.rep.joined(), "terminated without running")

	// Not the last delivery: sent back after Config.Defer, not run.
	s = newSettle(t, context.Background(), 3, func(context.Context, jetstream.Msg) error { ran++; return errFlaky },
		retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	ran = 0
	s.h(newFakeMsg(1, 1, published))
	s.kv.setGetErr(errBucketDown)
	m := newFakeMsg(1, 2, published)
	s.h(m)
	kind, delay := m.settled()
	assert.Equal(t, "nak", kind)
	assert.Equal(t, time.Second, delay)
	assert.Equal(t, 1, ran)
}

// A bucket request slower than AckWait does not get the message delivered
// twice: the message is kept alive from the start of a delivery until its
// acknowledgement. Here the redelivery's read waits for JetStream's
// default timeout (5s, the bucket deleted) on a consumer with a 1s
// AckWait; the message is then sent back, and runs at its next delivery,
// the third. (Before, only the handler was kept alive: the server
// delivered the message again every second while the read waited.)
func TestSlowBucketKeepsTheMessage(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Defer: 100 * time.Millisecond, OnError: rep.add},
		retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{AckWait: time.Second})
	rec := &recorder{}
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	ctx := context.Background()
	key := func(seq uint64) string { return jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq) }
	consumeAll(t, cons, h) // two workers: one waits for the bucket, the other would get the message
	consumeAll(t, cons, h)

	seq := f.publish(t, "1")
	waitRuns(t, rec, seq, 1)
	require.Eventually(t, func() bool { _, err := f.kv.Get(ctx, key(seq)); return err == nil }, 10*time.Second, time.Millisecond)
	require.NoError(t, js.DeleteKeyValue(ctx, f.name+"-progress"))
	require.Eventually(t, func() bool { return strings.Contains(rep.joined(), "reading the retry state") }, 20*time.Second, time.Millisecond)
	_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: f.name + "-progress", TTL: time.Hour})
	require.NoError(t, err)

	runs := waitRuns(t, rec, seq, 2)
	waitSettled(t, cons)
	assert.EqualValues(t, 3, runs[1].Delivered, "delivery 2 read for 5s and was sent back")
	assert.Len(t, rec.of(seq), 2)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, info.Delivered.Consumer, "no delivery came while the read waited")
}
