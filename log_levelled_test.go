package retry

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLevelled: which Observers LogTo's level gate applies to: one made by
// LogTo whose call hooks are LogTo's own or nil, and no other.
func TestLevelled(t *testing.T) {
	l := slog.New(slog.DiscardHandler)
	tests := []struct {
		name   string
		change func(o *Observer)
		gated  bool
	}{
		{"as made", func(*Observer) {}, true},
		{"a hook removed", func(o *Observer) { o.BreakerChange = nil }, true},
		{"Sharing replaced", func(o *Observer) { o.Sharing = func(context.Context, SharingInfo) {} }, true},
		{"Done wrapped", func(o *Observer) {
			inner := o.Done
			o.Done = func(ctx context.Context, e DoneInfo) { inner(ctx, e) }
		}, false},
		{"RetryScheduled replaced", func(o *Observer) { o.RetryScheduled = func(context.Context, RetryInfo) {} }, false},
		{"BreakerChange replaced", func(o *Observer) { o.BreakerChange = func(context.Context, BreakerChangeInfo) {} }, false},
		{"Done removed, RetryScheduled replaced", func(o *Observer) {
			o.Done = nil
			o.RetryScheduled = func(context.Context, RetryInfo) {}
		}, false},
		{"AttemptStart added", func(o *Observer) {
			o.AttemptStart = func(ctx context.Context, _ AttemptStartInfo) context.Context { return ctx }
		}, false},
		{"AttemptEnd added", func(o *Observer) { o.AttemptEnd = func(context.Context, AttemptEndInfo) {} }, false},
		{"BudgetRefused added", func(o *Observer) { o.BudgetRefused = func(context.Context, BudgetRefusedInfo) {} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := LogTo(l)
			tt.change(o)
			c := defaultConfig()
			c.observer = o
			c.settle()
			if tt.gated {
				assert.Same(t, o.log, c.logs)
				assert.False(t, c.timed, "LogTo needs no clock")
			} else {
				assert.Nil(t, c.logs)
				assert.True(t, c.timed)
			}
		})
	}
	var none *Observer
	assert.Nil(t, none.levelled())
	assert.Nil(t, (&Observer{Done: func(context.Context, DoneInfo) {}}).levelled())
}
