package jetstreamx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retrykit/retry"
)

// State is what the adapter keeps in the progress bucket (see
// [Config].Progress) between two deliveries of a message that failed or
// was deferred, under the key [StateKey] gives. A message that succeeds on
// its first delivery never has one; the key is deleted when the message
// is acknowledged or terminated. State is exported so that an operator's
// tool can read the bucket; a handler never needs to.
type State struct {
	// Progress is the message's retry progress: attempts made, when the
	// first began, the previous wait (which decorrelated jitter grows
	// from).
	Progress retry.Progress `json:"progress"`
	// Next is the delivery count (NumDelivered) the message is expected to
	// have at its next delivery. A delivery with a larger count follows
	// deliveries whose outcome was never reported (a worker process died,
	// or AckWait passed): they count as attempts, and their retry is
	// decided before the message runs.
	Next uint64 `json:"next_delivery"`
	// Due is the instant the policy chose for the next attempt. A delivery
	// that comes earlier (the server lost the delay of a negative
	// acknowledgement: it restarted) is sent back for the rest of the
	// wait, without running and without counting.
	Due time.Time `json:"due,omitzero"`
	// Wait is the wait that ends at Due, as the deciding worker chose it.
	// A delivery sooner than Due by less than 1% of it (or 50ms) runs:
	// the clocks of two workers may disagree by that much.
	Wait time.Duration `json:"wait,omitempty"`
	// Published is when the stream stored the message; a state whose
	// instant differs belongs to another message that had the same stream
	// sequence (a stream deleted and created again), and is ignored.
	Published time.Time `json:"published"`
	// Undecided says that the budget refused the retry after the last
	// attempt: the message was deferred, and asks again before it runs.
	Undecided bool `json:"undecided,omitempty"`
	// Deferred says why the message was last deferred (the budget or the
	// breaker refused it, the consumer was stopping), for an operator.
	Deferred string `json:"deferred,omitempty"`
	// Stopped is the error the policy ended the message with when its
	// dead-letter copy could not be published: the next delivery publishes
	// it and terminates the message, without running the handler.
	Stopped string `json:"stopped,omitempty"`
	// Reason names the reason of Stopped in one word, as
	// [retry.ReasonOf] does.
	Reason string `json:"reason,omitempty"`
}

// StateKey returns the key of a message's [State] in the progress bucket:
// "<stream>.<consumer>.<stream sequence>". Characters a key may not hold
// are written as "=" and two hexadecimal digits ("=" itself as "=3D"),
// an empty name as "=".
func StateKey(stream, consumer string, seq uint64) string {
	var b strings.Builder
	b.Grow(len(stream) + len(consumer) + 22)
	escapeKey(&b, stream)
	b.WriteByte('.')
	escapeKey(&b, consumer)
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(seq, 10))
	return b.String()
}

// escapeKey writes s with every byte a key token may not hold escaped.
func escapeKey(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	if s == "" {
		b.WriteByte('=')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// decodeState reads a stored State, checking what JSON cannot: a delivery
// count below 1. The progress's own checks are retry.Progress's.
func decodeState(b []byte) (State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, err
	}
	if st.Next < 1 {
		return State{}, fmt.Errorf("next_delivery %d is below 1", st.Next)
	}
	return st, nil
}

// derived is the state of a message whose stored state is missing or
// unreadable: every delivery before this one counts as an attempt whose
// outcome was never reported, and the first began no earlier than the
// message was published.
func derived(meta *jetstream.MsgMetadata) State {
	return State{Next: 1, Published: meta.Timestamp}
}

// load reads the state of the message delivered with meta. A first
// delivery has none and reads nothing. A redelivery without one (its
// earlier deliveries never reported), or with one that belongs to another
// message, gets the derived state; a malformed one gets the derived state
// and an error saying why. When the bucket does not answer, the error is
// an [unreadable]: the state may say the message ended, and the message
// must not run.
func (r *Retrier) load(d *delivery, meta *jetstream.MsgMetadata) (State, error) {
	if meta.NumDelivered <= 1 {
		return derived(meta), nil
	}
	key := d.key()
	e, err := r.kv.Get(d.settle(), key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return derived(meta), nil
	case err != nil:
		return derived(meta), unreadable{fmt.Errorf("jetstreamx: reading the retry state %q: %w", key, err)}
	}
	st, err := decodeState(e.Value())
	switch {
	case err != nil:
		return derived(meta), fmt.Errorf("jetstreamx: malformed retry state %q: %w; reset from the delivery count", key, err)
	case !st.Published.Equal(meta.Timestamp):
		return derived(meta), nil // another message's: a stream made again
	}
	return st, nil
}

// unreadable is the error of a state the bucket did not return (it did
// not answer, or failed), as opposed to one it does not hold.
type unreadable struct{ error }

func (u unreadable) Unwrap() error { return u.error }

// save stores st for the message of d.
func (r *Retrier) save(d *delivery, st State) error {
	key := d.key()
	b, err := json.Marshal(st)
	if err == nil {
		_, err = r.kv.Put(d.settle(), key, b)
	}
	if err != nil {
		return fmt.Errorf("jetstreamx: storing the retry state %q: %w", key, err)
	}
	return nil
}

// forget deletes the state of the message of d, if it may have one.
func (r *Retrier) forget(d *delivery) error {
	if d.meta.NumDelivered <= 1 {
		return nil
	}
	key := d.key()
	if err := r.kv.Delete(d.settle(), key); err != nil {
		return fmt.Errorf("jetstreamx: deleting the retry state %q: %w", key, err)
	}
	return nil
}
