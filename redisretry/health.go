package redisretry

import (
	"sync"
	"sync/atomic"

	"github.com/retrykit/retry"
)

// health is whether a limit shares its state through Redis or decides
// alone, and the reporting of the changes.
type health struct {
	f          *Fleet
	kind, name string
	alone      atomic.Bool // deciding alone: Redis failed, or the fleet is closed
	mu         sync.Mutex  // orders the changes and their events
	retired    bool        // under mu: the fleet is closed; no more changes
}

// local reports whether the limit decides alone.
func (h *health) local() bool { return h.alone.Load() }

// down makes the limit decide alone because of err, and reports it.
func (h *health) down(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.retired || h.alone.Load() {
		return
	}
	h.alone.Store(true)
	h.f.report(retry.SharingInfo{Kind: h.kind, Name: h.name, Shared: false, Err: err})
}

// up makes the limit share again, and reports it.
func (h *health) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.retired || !h.alone.Load() {
		return
	}
	h.alone.Store(false)
	h.f.report(retry.SharingInfo{Kind: h.kind, Name: h.name, Shared: true})
}

// retire makes the limit decide alone for good, without an event: the
// fleet is closed.
func (h *health) retire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retired = true
	h.alone.Store(true)
}

// handover is the hand-over of a job's result: the fleet's goroutine
// delivers it, or the asker abandons it, whichever comes first.
type handover struct{ v atomic.Int32 }

func (s *handover) deliver() bool { return s.v.CompareAndSwap(0, 1) }
func (s *handover) abandon() bool { return s.v.CompareAndSwap(0, 2) }
