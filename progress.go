package retry

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Progress is the state of one call between its attempts: how many have
// run, when the first began, and the previous wait (which
// [DecorrelatedJitter] grows from). It is what a caller that schedules
// retries itself stores with the work (a message header, a database row)
// and hands back to the policy; see [Policy.Begin].
//
// The zero Progress is a call that has not begun. Progress is a small value,
// passed and returned by value. It round-trips through encoding/json and
// through [Progress.MarshalBinary], with the sum of the waits so far and
// the count of hedges so far that an observer's Done reports (see
// [DoneInfo].Waited and Hedges). What neither keeps
// is the admission of a running attempt, which lives only between
// [Policy.Begin] and the one Failed or Succeeded that reports it, and is
// shared by every copy of the Progress Begin returned, nor the record the
// copies of a hedged call share (see [Policy.Hedge]): store the Progress
// a [Verdict] returns, which holds neither.
type Progress struct {
	// Attempts is the number of attempts begun so far.
	Attempts int `json:"attempts"`
	// Start is when the first attempt began; the elapsed limit
	// ([WithMaxElapsed]) is measured from it. Zero before the first. An
	// instant the engine is given that is earlier than Start (a clock
	// stepped back, a stored Start in the future) becomes the new Start:
	// the elapsed time counts from the earliest instant the call was
	// given, so the limit holds (a clock stepped back an hour lets the
	// call run for at most the limit after the step, not for an hour).
	Start time.Time `json:"start"`
	// Prev is the wait chosen before the latest attempt (0 before the
	// second), from which DecorrelatedJitter draws the next.
	Prev time.Duration `json:"prev"`

	adm    *admission  // Begin's record of the running attempt; nil when none
	gen    uint64      // adm's generation for this attempt
	round  *hedgeRound // a hedge's: the record its call's copies share (engine_round.go)
	ticket ticket      // the breaker's admission of the running attempt

	// For an observer (see Observer) and the adaptive hedge delay
	// (engine_learn.go): when the running attempt began, since Start; and
	// the sum of the waits decided so far.
	began, waited time.Duration
	// started: the observer saw the running attempt start (AttemptStart
	// returned), so its end is reported.
	started bool
	// In a hedged call (hedge_run.go): the running attempt is a hedge; it
	// lost to another copy; and the number of hedges begun so far. They
	// and held fill the padding after started.
	hedge, lost bool
	held        bool // ticket is a live admission to report
	hedges      int32
}

// stop builds the error that ends the call. It is kept out of line: inlined
// at each of its calls it would bloat the decision's hot path.
//
//go:noinline
func (pr *Progress) stop(last, reason error, hint time.Duration) *Error {
	return &Error{Attempts: pr.Attempts, Last: strip(last), Reason: reason, Hint: hint, RetryAfter: hint}
}

// progressVersion leads the binary form of a Progress: version 2 adds the
// sum of the waits after the previous wait; version 3 adds the count of
// hedges after it, and is written only when that count is not 0 (a call
// never hedged keeps the form the previous release reads); versions 1 and
// 2 are still read.
const (
	progressVersion       = 2
	progressVersionHedged = 3
)

// MarshalBinary encodes the progress (not the admission of a running
// attempt) in a compact form that [Progress.UnmarshalBinary] reads.
func (p Progress) MarshalBinary() ([]byte, error) {
	t, err := p.Start.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("retry: Progress.MarshalBinary: %w", err)
	}
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(t))
	if p.hedges == 0 {
		b = append(b, progressVersion)
	} else {
		b = append(b, progressVersionHedged)
	}
	b = binary.AppendVarint(b, int64(p.Attempts))
	b = binary.AppendVarint(b, int64(p.Prev))
	b = binary.AppendVarint(b, int64(p.waited))
	if p.hedges != 0 {
		b = binary.AppendVarint(b, int64(p.hedges))
	}
	return append(b, t...), nil
}

// UnmarshalBinary decodes what [Progress.MarshalBinary] encoded, in this
// release or an earlier one (which did not keep the sum of the waits, or
// the count of hedges, an observer's Done reports: they restart from 0).
// Malformed input (a wrong
// version, truncated or negative counts, a bad time) returns an error and
// leaves p unchanged.
func (p *Progress) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] < 1 || b[0] > progressVersionHedged {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: not an encoded Progress (version byte)")
	}
	version := b[0]
	b = b[1:]
	attempts, n := binary.Varint(b)
	if n <= 0 || attempts < 0 || int64(int(attempts)) != attempts || int(attempts) == math.MaxInt {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: bad attempt count")
	}
	b = b[n:]
	prev, n := binary.Varint(b)
	if n <= 0 || prev < 0 {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: bad previous wait")
	}
	b = b[n:]
	var waited int64
	if version >= 2 {
		waited, n = binary.Varint(b)
		if n <= 0 || waited < 0 {
			return fmt.Errorf("retry: Progress.UnmarshalBinary: bad sum of waits")
		}
		b = b[n:]
	}
	var hedges int64
	if version >= progressVersionHedged {
		hedges, n = binary.Varint(b)
		if n <= 0 || hedges < 0 || hedges > math.MaxInt32 {
			return fmt.Errorf("retry: Progress.UnmarshalBinary: bad count of hedges")
		}
		b = b[n:]
	}
	var start time.Time
	if err := start.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("retry: Progress.UnmarshalBinary: %w", err)
	}
	if _, err := start.MarshalBinary(); err != nil {
		// A zone offset time.Time decodes but cannot encode (MarshalBinary
		// never writes one): the Progress could not be stored again.
		return fmt.Errorf("retry: Progress.UnmarshalBinary: start time: %w", err)
	}
	*p = Progress{Attempts: int(attempts), Start: start, Prev: time.Duration(prev), waited: time.Duration(waited), hedges: int32(hedges)}
	return nil
}

// progressJSON is the JSON form of a Progress.
type progressJSON struct {
	Attempts int           `json:"attempts"`
	Start    time.Time     `json:"start"`
	Prev     time.Duration `json:"prev"`
	Waited   time.Duration `json:"waited,omitempty"`
	Hedges   int32         `json:"hedges,omitempty"`
}

// MarshalJSON encodes the progress (not the admission of a running
// attempt) as {"attempts": n, "start": time, "prev": nanoseconds,
// "waited": nanoseconds, "hedges": n}; "waited", the sum of the waits so
// far, and "hedges", the count of hedges so far, that an observer's Done
// reports, are left out when they are 0.
func (p Progress) MarshalJSON() ([]byte, error) {
	return json.Marshal(progressJSON{Attempts: p.Attempts, Start: p.Start, Prev: p.Prev, Waited: p.waited, Hedges: p.hedges})
}

// UnmarshalJSON decodes the JSON form of a Progress (see
// [Progress.MarshalJSON]; "waited" and "hedges" may be missing) with the
// checks of [Progress.UnmarshalBinary]: a negative or largest count or a
// negative wait is an error, and leaves p unchanged.
func (p *Progress) UnmarshalJSON(b []byte) error {
	var v progressJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Attempts < 0 || v.Attempts == math.MaxInt || v.Prev < 0 || v.Waited < 0 || v.Hedges < 0 {
		return fmt.Errorf("retry: Progress.UnmarshalJSON: invalid Progress (attempts %d, prev %v, waited %v, hedges %d)", v.Attempts, v.Prev, v.Waited, v.Hedges)
	}
	*p = Progress{Attempts: v.Attempts, Start: v.Start, Prev: v.Prev, waited: v.Waited, hedges: v.Hedges}
	return nil
}
