package riverx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/retrykit/retry"
	"github.com/riverqueue/river/rivertype"
)

// MetadataKey is the key of the job metadata where the adapter keeps a
// job's retry state (see [State]).
const MetadataKey = "retrykit"

// State is what the adapter keeps in a job's metadata under [MetadataKey]
// between its runs: the [retry.Progress] that decorrelated jitter and the
// elapsed limit need, and what River cannot hold for the adapter. It is
// exported so that an operator's tool can read it; a worker never needs
// to.
type State struct {
	// Progress is the job's retry progress: attempts made, when the first
	// began, the previous wait.
	Progress retry.Progress `json:"progress"`
	// Next is River's attempt number the job is expected to have at its
	// next run. A run that starts with a larger one follows runs whose
	// outcome was never reported (a worker process died): they count as
	// attempts, and the retry is decided before the job runs.
	Next int `json:"next_attempt"`
	// Undecided says that the budget refused the retry after the last
	// run: the job was deferred, and asks again before it runs.
	Undecided bool `json:"undecided,omitempty"`
	// Deferred says why the job was last deferred (the budget or the
	// breaker refused it), for an operator.
	Deferred string `json:"deferred,omitempty"`
	// Stopped is the error that ended the job after a run that panicked
	// (a panic cannot be turned into a cancellation): the job is cancelled
	// with it when it is next delivered, without running.
	Stopped string `json:"stopped,omitempty"`
}

// keyBytes is what a job's metadata contains when it holds a State.
var keyBytes = []byte(`"` + MetadataKey + `"`)

// loadState reads the job's State. A job without one (its first run, or
// a job from before the adapter) gets the progress of a job whose runs
// so far (River's attempt count) were never reported. Malformed metadata
// returns an error.
func loadState(job *rivertype.JobRow) (State, error) {
	st := State{Next: 1}
	if !bytes.Contains(job.Metadata, keyBytes) {
		return st, nil
	}
	var m struct {
		State *json.RawMessage `json:"retrykit"`
	}
	if err := json.Unmarshal(job.Metadata, &m); err != nil {
		return st, fmt.Errorf("riverx: job %d: metadata is not a JSON object: %w", job.ID, err)
	}
	if m.State == nil {
		return st, nil
	}
	if err := json.Unmarshal(*m.State, &st); err != nil {
		return State{Next: 1}, fmt.Errorf("riverx: job %d: malformed retry state in metadata %q: %w", job.ID, MetadataKey, err)
	}
	if st.Next < 0 {
		return State{Next: 1}, fmt.Errorf("riverx: job %d: malformed retry state in metadata %q: next_attempt %d is negative", job.ID, MetadataKey, st.Next)
	}
	return st, nil
}

// firstRun returns the earliest instant the job is known to have run at:
// the first of its recorded errors, or now.
func firstRun(job *rivertype.JobRow, now time.Time) time.Time {
	t := now
	for _, e := range job.Errors {
		if !e.At.IsZero() && e.At.Before(t) {
			t = e.At
		}
	}
	return t
}
