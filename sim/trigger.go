package sim

import (
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// Trigger is what goes wrong in a scenario, from Start for Length.
type Trigger struct {
	Mode   TriggerMode
	Start  time.Duration // >= 0
	Length time.Duration // >= 0; 0 means no trigger
	// Magnitude is, for Slow, the fraction of the server's capacity lost,
	// in (0, 1]: while the trigger lasts each worker works at 1−Magnitude
	// of its speed, on the jobs it was serving when the trigger started as
	// on those it starts, and at full speed again once it ends. Slow with
	// Magnitude 1 is nearly a Stall: work freezes until the trigger ends,
	// where a Stall lets the jobs in service finish and starts none. Other
	// modes ignore Magnitude.
	Magnitude float64
	// RetryAfter makes the server's 503s carry a hint ([retry.After]):
	// during a Reject trigger the time left until it ends, rounded up to
	// whole seconds (every client is told the same instant), and 1s for a
	// full queue.
	RetryAfter bool
}

// TriggerMode is the kind of a [Trigger].
type TriggerMode uint8

const (
	// Stall pauses the workers: requests keep arriving and queueing but
	// none starts (a capacity decrease, OSDI'22's commonest trigger).
	Stall TriggerMode = iota
	// Reject answers every request with an instant 503 that costs the
	// server nothing (a dependency that is down but answers).
	Reject
	// Slow takes Magnitude of the workers' speed away.
	Slow
)

var triggerModes = [...]string{Stall: "stall", Reject: "reject", Slow: "slow"}

// String returns "stall", "reject" or "slow".
func (m TriggerMode) String() string {
	if int(m) < len(triggerModes) {
		return triggerModes[m]
	}
	return fmt.Sprintf("TriggerMode(%d)", uint8(m))
}

// ParseTriggerMode reads the String form of a mode.
func ParseTriggerMode(s string) (TriggerMode, error) {
	for i, n := range triggerModes {
		if n == s {
			return TriggerMode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: sim: unknown trigger mode %q (want stall, reject or slow)", retry.ErrInvalidConfig, s)
}

func (t *Trigger) check(name string) error {
	switch {
	case t.Mode > Slow:
		return fieldError(name+".Mode", "is unknown (%d)", t.Mode)
	case t.Mode == Slow && !(t.Magnitude > 0 && t.Magnitude <= 1):
		return fieldError(name+".Magnitude", "must be in (0, 1] for a slow trigger, got %v", t.Magnitude)
	}
	if err := checkDuration(name+".Start", t.Start); err != nil {
		return err
	}
	return checkDuration(name+".Length", t.Length)
}
