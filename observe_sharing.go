package retry

import (
	"context"
	"log/slog"
)

// SharingInfo is the event of a budget or breaker shared by several
// processes that stops or resumes sharing its state: its shared store (a
// Redis server) failed or answered too late, so that it now decides alone,
// with the limits of one process; or the store answers again and it has
// rejoined the others. It is the event to alert on: while Shared is false,
// the limits of the fleet are those of each process added up.
type SharingInfo struct {
	// Kind is "budget" or "breaker".
	Kind string
	// Name is the name the budget or breaker is shared under.
	Name string
	// Shared is false when it stopped sharing, true when it resumed.
	Shared bool
	// Err is why it stopped sharing (nil when Shared): the store's error,
	// or one saying it did not answer in time.
	Err error
}

// sharing logs a Sharing event for LogTo.
func (lg *logTo) sharing(ctx context.Context, e SharingInfo) {
	l := lg.logger()
	if e.Shared {
		l.LogAttrs(ctx, slog.LevelInfo, "sharing again", slog.String("kind", e.Kind), slog.String("name", e.Name))
		return
	}
	l.LogAttrs(ctx, slog.LevelError, "not sharing", slog.String("kind", e.Kind), slog.String("name", e.Name), slog.Any("error", e.Err))
}
