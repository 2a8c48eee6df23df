package grpcx

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fakeDeadline is a context with a deadline whose Err is set by hand, to
// reproduce grpc-go reporting DEADLINE_EXCEEDED a moment before the
// context's own timer fires.
type fakeDeadline struct {
	context.Context
	deadline time.Time
	err      error
}

func (f fakeDeadline) Deadline() (time.Time, bool) { return f.deadline, !f.deadline.IsZero() }
func (f fakeDeadline) Err() error                  { return f.err }

func TestOwnTimeout(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bg := context.Background()
	caller := func(d time.Time) context.Context { return fakeDeadline{Context: bg, deadline: d} }
	attempt := func(d time.Time, err error) context.Context { return fakeDeadline{Context: bg, deadline: d, err: err} }
	for name, tc := range map[string]struct {
		ctx, actx context.Context
		now       time.Time
		want      bool
	}{
		"no attempt context":                   {bg, bg, t0, false},
		"attempt without deadline":             {bg, attempt(time.Time{}, nil), t0, false},
		"attempt deadline passed, Err not yet": {bg, attempt(t0, nil), t0, true},
		"attempt deadline passed, Err set":     {bg, attempt(t0, context.DeadlineExceeded), t0.Add(time.Millisecond), true},
		"before the attempt deadline":          {bg, attempt(t0.Add(time.Millisecond), nil), t0, false},
		"the caller's deadline is earlier":     {caller(t0), attempt(t0, nil), t0, false},
		"the caller's deadline is later":       {caller(t0.Add(time.Second)), attempt(t0, nil), t0, true},
	} {
		assert.Equal(t, tc.want, ownTimeout(tc.ctx, tc.actx, tc.now), name)
	}
}
