package jetstreamx_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// outcome is what one run of the operation returns in the property: nil,
// or an error marked as drawn.
func outcome(mark string) error {
	switch mark {
	case "ok":
		return nil
	case "permanent":
		return retry.Permanent(errDeclined)
	case "hint":
		return retry.After(300*time.Millisecond, errFlaky)
	}
	return errFlaky
}

// A message worked through the handler, its state kept in a bucket between
// deliveries and each redelivery made at the delay of its negative
// acknowledgement (a simulated server, on a fake clock), runs at the same
// instants and ends for the same reason as retry.Do calling an operation
// with the same outcomes, under the same policy and seed (Do in virtual
// time).
func TestHandlerFollowsDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { rapid.Check(bubbleT{t}, handlerFollowsDo) })
}

// bubbleT hides testing.T's Deadline, which rapid asks for and a synctest
// bubble refuses.
type bubbleT struct{ *testing.T }

func handlerFollowsDo(t *rapid.T) {
	{
		marks := rapid.SliceOfN(rapid.SampledFrom([]string{"ok", "fail", "fail", "permanent", "hint"}), 1, 8).Draw(t, "outcomes")
		attempts := rapid.IntRange(0, 6).Draw(t, "attempts")
		jitter := rapid.SampledFrom([]retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter}).Draw(t, "jitter")
		elapsed := time.Duration(rapid.IntRange(0, 3000).Draw(t, "elapsed ms")) * time.Millisecond
		seed := rapid.Uint64().Draw(t, "seed")
		opts := func() []retry.Option {
			return []retry.Option{retry.WithMaxAttempts(attempts), retry.WithJitter(jitter), retry.WithMaxElapsed(elapsed),
				retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithMaxDelay(time.Second),
				retry.WithRand(rand.New(rand.NewPCG(seed, seed)))}
		}
		op := func(n int) error { // after the drawn outcomes, success: every call ends
			if n >= len(marks) {
				return nil
			}
			return outcome(marks[n])
		}

		// retry.Do, in virtual time.
		var want []time.Duration
		start := time.Now()
		n := 0
		wantErr := retry.Run(context.Background(), func(context.Context) error {
			want = append(want, time.Since(start))
			n++
			return op(n - 1)
		}, opts()...)

		// The handler, with a simulated server.
		clock := published
		var got []time.Duration
		var gotReason string
		done := false
		r, err := jetstreamx.New(fakeJS{dead: &deadLetters{}}, jetstreamx.Config{Progress: &fakeKV{},
			Now: func() time.Time { return clock }}, append(opts(), retry.WithObserver(&retry.Observer{
			Done: func(_ context.Context, e retry.DoneInfo) { gotReason, done = retry.ReasonOf(e.Err), true },
		}))...)
		if err != nil {
			t.Fatal(err)
		}
		runs := 0
		h, err := r.Handler(context.Background(), newFakeConsumer(jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy}),
			func(context.Context, jetstream.Msg) error {
				got = append(got, clock.Sub(published))
				runs++
				return op(runs - 1)
			})
		if err != nil {
			t.Fatal(err)
		}
		for delivered := uint64(1); !done; delivered++ {
			if delivered > 100 {
				t.Fatal("no end after 100 deliveries")
			}
			m := newFakeMsg(1, delivered, published)
			h(m)
			kind, delay := m.settled()
			if kind != "nak" {
				break
			}
			clock = clock.Add(delay)
		}
		if len(got) != len(want) {
			t.Fatalf("runs at %v, Do's attempts at %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("runs at %v, Do's attempts at %v", got, want)
			}
		}
		if wr := retry.ReasonOf(wantErr); gotReason != wr {
			t.Fatalf("ended with %q, Do with %q (%v)", gotReason, wr, wantErr)
		}
	}
}
