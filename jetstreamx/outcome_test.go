package jetstreamx_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// terminated is the server's advisory for a message a consumer terminated
// (Reason from nats-server 2.10.4).
type terminated struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Reason     string `json:"reason"`
}

// advisories subscribes to the termination advisories of the consumer.
func advisories(t testing.TB, js jetstream.JetStream, stream, consumer string) <-chan terminated {
	t.Helper()
	out := make(chan terminated, 16)
	sub, err := js.Conn().Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED."+stream+"."+consumer, func(m *nats.Msg) {
		var a terminated
		if json.Unmarshal(m.Data, &a) == nil {
			out <- a
		}
	})
	require.NoError(t, err)
	require.NoError(t, js.Conn().Flush())
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return out
}

// Each way the policy ends a message terminates it at once, with its
// reason where an operator looks: the server's termination advisory (its
// reason field from nats-server 2.10.4), and the dead-letter copy, whose
// headers carry the reason, the attempts and where the message came
// from: a Permanent error, a classifier's Terminal, a NotIdempotent error,
// the policy's attempt limit, the consumer's MaxDeliver when it is the
// lower, the elapsed limit, a hint longer than the maximum delay.
func TestStopsTerminateWithTheReason(t *testing.T) {
	js := connect(t)
	common := []retry.Option{retry.WithBackoff(retry.Constant(20 * time.Millisecond))}
	for _, tc := range []struct {
		name       string
		opts       []retry.Option
		maxDeliver int
		body       string
		runs       int
		reason     string
		error      []string // in the dead letter's error header
	}{
		{"permanent", nil, 0, "9 permanent", 1, "permanent", []string{"retry: permanent error after 1 attempt", "card declined"}},
		{"terminal", []retry.Option{retry.WithClassifier(retry.StopOn(errDeclined))}, 0, "9 terminal", 1, "permanent", []string{"retry: permanent error after 1 attempt", "card declined"}},
		{"not idempotent", nil, 0, "9 notidempotent", 1, "not_idempotent", []string{"retry: not idempotent, not resent after 1 attempt", "upstream unavailable"}},
		{"policy attempts", []retry.Option{retry.WithMaxAttempts(3)}, 0, "9", 3, "exhausted", []string{"retry: attempts exhausted after 3 attempts: upstream unavailable"}},
		{"max deliver", []retry.Option{retry.WithMaxAttempts(0)}, 2, "9", 2, "exhausted", []string{"retry: attempts exhausted after 2 attempts: upstream unavailable"}},
		{"hint too long", []retry.Option{retry.WithMaxDelay(500 * time.Millisecond)}, 0, "9 hint", 1, "hint_too_long", []string{"retry: server hint exceeds the maximum delay", "700ms", "upstream unavailable"}},
		{"elapsed", []retry.Option{retry.WithMaxAttempts(0), retry.WithBackoff(retry.Constant(300 * time.Millisecond)),
			retry.WithJitter(retry.NoJitter), retry.WithMaxElapsed(500 * time.Millisecond)}, 0, "9", 2, "max_elapsed",
			[]string{"retry: maximum elapsed time reached after 2 attempts", "upstream unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, js)
			rep := &reports{}
			r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, DeadLetter: f.dead, OnError: rep.add}, append(common, tc.opts...)...)
			require.NoError(t, err)
			cons := f.consumer(t, jetstream.ConsumerConfig{MaxDeliver: tc.maxDeliver})
			adv := advisories(t, js, f.name, cons.CachedInfo().Name)
			rec := &recorder{}
			h, err := r.Handler(context.Background(), cons, flaky(rec))
			require.NoError(t, err)
			consumeAll(t, cons, h)

			seq := f.publish(t, tc.body)
			var a terminated
			select {
			case a = <-adv:
			case <-time.After(30 * time.Second):
				t.Fatal("no termination advisory")
			}
			waitSettled(t, cons)
			assert.Len(t, rec.of(seq), tc.runs)
			assert.Equal(t, seq, a.StreamSeq)
			assert.EqualValues(t, tc.runs, a.Deliveries)
			if version := js.Conn().ConnectedServerVersion(); a.Reason != "" || !before2104(version) {
				for _, want := range tc.error {
					assert.Contains(t, a.Reason, want, "the advisory's reason (server %s)", version)
				}
			}
			dead := f.deadLetters(t)
			require.Len(t, dead, 1)
			m := dead[0]
			assert.Equal(t, "9"+tc.body[1:], string(m.Data), "the message's own body")
			assert.Equal(t, tc.reason, m.Header.Get(jetstreamx.HeaderReason))
			for _, want := range tc.error {
				assert.Contains(t, m.Header.Get(jetstreamx.HeaderError), want)
			}
			assert.Equal(t, strconv.Itoa(tc.runs), m.Header.Get(jetstreamx.HeaderAttempts))
			assert.Equal(t, strconv.Itoa(tc.runs), m.Header.Get(jetstreamx.HeaderDeliveries))
			assert.Equal(t, f.name, m.Header.Get(jetstreamx.HeaderStream))
			assert.Equal(t, cons.CachedInfo().Name, m.Header.Get(jetstreamx.HeaderConsumer))
			assert.Equal(t, strconv.FormatUint(seq, 10), m.Header.Get(jetstreamx.HeaderSequence))
			assert.Equal(t, f.name+".jobs", m.Header.Get(jetstreamx.HeaderSubject))
			assert.Empty(t, rep.all())
			_, err = f.kv.Get(context.Background(), jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq))
			assert.ErrorIs(t, err, jetstream.ErrKeyNotFound, "the state is gone")
		})
	}
}

// before2104 reports whether a server of version v ignores the reason of
// a termination (it came with nats-server 2.10.4).
func before2104(v string) bool {
	var major, minor, patch int
	for i, p := range splitVersion(v) {
		switch i {
		case 0:
			major = p
		case 1:
			minor = p
		case 2:
			patch = p
		}
	}
	return major < 2 || major == 2 && (minor < 10 || minor == 10 && patch < 4)
}

func splitVersion(v string) []int {
	var out []int
	n := 0
	for _, c := range v + "." {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
		case c == '.':
			out = append(out, n)
			n = 0
		default:
			return append(out, n)
		}
	}
	return out
}

// A hint (retry.After, as httpx turns a Retry-After header and grpcx a
// pushback into) brings the message back at the hint: exactly, with
// WithExactHints.
func TestHintIsObeyed(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	d := &decisions{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Now: d.now}, retry.WithExactHints(),
		retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithObserver(d.observer()))
	require.NoError(t, err)
	rec := &recorder{}
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	seq := f.publish(t, "1 hint")
	runs := waitRuns(t, rec, seq, 2)
	waitSettled(t, cons)
	chosen, waits, _ := d.snapshot()
	require.Equal(t, []time.Duration{hint}, waits)
	assert.False(t, runs[1].Started.Before(chosen[0]))
	assert.LessOrEqual(t, runs[1].Started.Sub(chosen[0]), lateness)
	assert.Len(t, rec.of(seq), 2)
}

// Without a dead-letter subject, on a server older than 2.10.4 (which
// keeps no termination reason), the reason of a stop goes to
// Config.OnError, the one place left for it. (Before, it vanished.) On a
// newer server the advisory carries it, and nothing is reported.
func TestReasonReportedWhenTheServerKeepsNone(t *testing.T) {
	js := connect(t)
	f := newFixture(t, js)
	rep := &reports{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, OnError: rep.add})
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{})
	adv := advisories(t, js, f.name, cons.CachedInfo().Name)
	rec := &recorder{}
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	f.publish(t, "9 permanent")
	var a terminated
	select {
	case a = <-adv:
	case <-time.After(30 * time.Second):
		t.Fatal("no termination advisory")
	}
	waitSettled(t, cons)
	version := js.Conn().ConnectedServerVersion()
	if !before2104(version) {
		assert.Contains(t, a.Reason, "retry: permanent error after 1 attempt: card declined")
		assert.Empty(t, rep.all())
		return
	}
	assert.Empty(t, a.Reason, "server %s", version)
	require.Len(t, rep.all(), 1)
	assert.Contains(t, rep.all()[0], "terminated (the server, older than 2.10.4, keeps no reason; no dead-letter copy)")
	assert.Contains(t, rep.all()[0], "retry: permanent error after 1 attempt: card declined")
}
