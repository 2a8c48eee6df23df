package riverx

import (
	"sync"
	"time"
)

// handoff carries the instant the middleware chose for a job's next run to
// River's call of NextRetry, which comes right after on the same goroutine
// (the executor reports the run's error, then asks the retry policy). An
// entry River never asks for (an ErrorHandler cancelled the job, another
// middleware replaced the error) is swept once it is a minute old, so the
// map stays as small as the number of jobs running.
type handoff struct {
	mu    sync.Mutex
	at    map[int64]entry
	swept int // the size of the map after the last sweep
}

type entry struct {
	at      time.Time // when the job runs next
	decided time.Time // when that was decided
}

// staleAfter is the age past which an entry is no longer awaited.
const staleAfter = time.Minute

// put records that the job with id runs next at at, decided at now.
func (h *handoff) put(id int64, at, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.at == nil {
		h.at = make(map[int64]entry)
	}
	h.at[id] = entry{at: at, decided: now}
	if len(h.at) >= 2*h.swept+64 {
		for k, e := range h.at {
			if now.Sub(e.decided) > staleAfter {
				delete(h.at, k)
			}
		}
		h.swept = len(h.at)
	}
}

// take returns and forgets the instant recorded for the job with id.
func (h *handoff) take(id int64) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.at[id]
	if ok {
		delete(h.at, id)
	}
	return e.at, ok
}
