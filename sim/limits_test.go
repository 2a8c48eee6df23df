package sim

import (
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// quick is a scaled-down open scenario of a few seconds that runs in
// milliseconds.
func quick() Open {
	s := small()
	s.Trigger = Trigger{Mode: Stall, Start: time.Second, Length: time.Second}
	s.After = 3 * time.Second
	return s
}

// fieldNames returns the names of the fields of the structs v, recursively.
func fieldNames(vs ...any) []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			names = append(names, f.Name)
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
				walk(f.Type)
			}
		}
	}
	for _, v := range vs {
		walk(reflect.TypeOf(v))
	}
	return names
}

// TestFieldsBeyondWhatARunHolds: every field that sizes a run is bounded,
// and one past its bound is a *FieldError naming it, returned before the
// run allocates for it. Each case is one step past the bound, so that
// without the bound the run would go ahead (cheaply) instead of failing.
func TestFieldsBeyondWhatARunHolds(t *testing.T) {
	p := policy3(t, retry.FullJitter)
	f := Fleet{Policy: p}
	open := func(edit func(*Open)) func() error {
		return func() error {
			s := quick()
			edit(&s)
			_, err := s.Run(f)
			return err
		}
	}
	herd := func(edit func(*Herd)) func() error {
		return func() error {
			s := Herd{Clients: 10, Outage: time.Second, Rate: 100, Burst: 1, After: time.Second}
			edit(&s)
			_, err := s.Run(f)
			return err
		}
	}
	layers := func(edit func(*Layers)) func() error {
		return func() error {
			s := Layers{Depth: 2, Requests: 10, FailRate: 0.5}
			edit(&s)
			_, err := s.Run(f)
			return err
		}
	}
	tooLong := MaxSpan + 1
	for _, tc := range []struct {
		field string
		run   func() error
	}{
		{"Open.Clients", open(func(s *Open) { s.Clients = MaxClients + 1 })},
		{"Open.Queue", open(func(s *Open) { s.Queue = MaxQueue + 1 })},
		{"Open.Workers", open(func(s *Open) { s.Workers = MaxPending + 1 })},
		{"Open.Service", open(func(s *Open) { s.Service = tooLong })},
		{"Open.Hop", open(func(s *Open) { s.Hop = tooLong })},
		{"Open.Timeout", open(func(s *Open) { s.Timeout = tooLong })},
		{"Open.Bucket", open(func(s *Open) { s.Bucket = tooLong })},
		// 1e300 requests per second would all arrive at time 0; the event
		// limit is low so that, unbounded, the run stops after a moment.
		{"Open.Rate", open(func(s *Open) { s.Rate, s.MaxEvents = 1e300, 100_000 })},
		{"Open.Rate", open(func(s *Open) { s.Rate, s.MaxEvents = 1000, 4_000 })},
		{"Herd.Clients", herd(func(s *Herd) { s.Clients = MaxClients + 1 })},
		{"Herd.Hop", herd(func(s *Herd) { s.Hop = tooLong })},
		{"Herd.Bucket", herd(func(s *Herd) { s.Bucket = tooLong })},
		{"OCC.Clients", func() error {
			_, err := OCC{Clients: MaxClients + 1, Trials: 1, MaxEvents: 1000}.Run(f)
			return err
		}},
		{"Layers.Requests", layers(func(s *Layers) { s.Requests, s.MaxEvents = 2_000, 1_000 })},
		{"Layers.Gap", layers(func(s *Layers) { s.Requests, s.Gap = 3, MaxSpan })},
		{"Layers.Hop", layers(func(s *Layers) { s.Hop = tooLong })},
		{"Sweep.Lengths", func() error {
			_, err := Sweep{Base: quick(), Magnitudes: []float64{0.5}, Lengths: []time.Duration{tooLong}}.Run(f)
			return err
		}},
		{"Sweep.Magnitudes", func() error {
			_, err := Sweep{Base: quick(), Magnitudes: []float64{1.5}, Lengths: []time.Duration{time.Second}}.Run(f)
			return err
		}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.run()
			runtime.ReadMemStats(&after)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Equal(t, tc.field, fe.Field, "%v", err)
			for _, name := range fieldNames(Open{}, Herd{}, Layers{}, OCC{}, Sweep{}) {
				assert.NotRegexp(t, `\b`+name+`\b`, fe.Problem, "the problem names no field")
			}
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "refused before allocating")
		})
	}
}

// TestTinyRateKeepsTimeForward: at a rate so low that the next arrival is
// beyond every horizon (1e300 s away), no request arrives; the arrival time
// never wraps around to the past.
func TestTinyRateKeepsTimeForward(t *testing.T) {
	s := quick()
	s.Rate, s.MaxEvents = 1e-300, 10_000
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	require.NoError(t, err)
	assert.Zero(t, r.Summary.Logical)
	assert.Len(t, r.Series, 5, "one bucket a second for 5 s")
}

// TestWaitsBeyondTheEndOfTime: a policy may wait as long as a Duration
// holds; such a retry never comes back, rather than wrapping around to a
// negative instant and coming back at once.
func TestWaitsBeyondTheEndOfTime(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxDelay(0),
		retry.WithBackoff(retry.Constant(math.MaxInt64)), retry.WithJitter(retry.NoJitter))
	require.NoError(t, err)
	r, err := Herd{Clients: 10, Outage: time.Second, Rate: 100, Burst: 1, Hop: 10 * time.Millisecond, MaxEvents: 10_000}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	assert.EqualValues(t, 10, r.Summary.Attempts, "one attempt each, then a wait past the horizon")
	assert.EqualValues(t, 10, r.Summary.InFlight)
}

// TestSlowNearlyFrozen: a slow trigger that leaves a worker 1e-16 of its
// speed finishes nothing while it lasts, like one that freezes the work,
// instead of overflowing the time its jobs end.
func TestSlowNearlyFrozen(t *testing.T) {
	run := func(mag float64) Summary {
		s := quick()
		s.Trigger = Trigger{Mode: Slow, Magnitude: mag, Start: time.Second, Length: 2 * time.Second}
		r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
		require.NoError(t, err)
		return r.Summary
	}
	frozen, nearly := run(1), run(math.Nextafter(1, 0))
	assert.InDelta(t, frozen.Served, nearly.Served, 2)
	assert.InDelta(t, frozen.Succeeded, nearly.Succeeded, 2)
}

// TestLayersEventLimitCountsEvents: Layers' MaxEvents counts events, as
// every scenario's does (4 per request here: arrival, attempt, arrival at
// the dependency, reply), not attempts.
func TestLayersEventLimitCountsEvents(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(1))
	require.NoError(t, err)
	s := Layers{Depth: 1, Requests: 100, Hop: time.Millisecond}
	_, err = s.Run(Fleet{Policy: p})
	require.NoError(t, err)
	s.MaxEvents = 300
	_, err = s.Run(Fleet{Policy: p})
	var le *LimitError
	require.ErrorAs(t, err, &le, "100 attempts, 400 events")
	assert.False(t, le.Pending)
	assert.EqualValues(t, 300, le.Limit)
}

// TestPendingBound: a run whose work in flight outgrows the bound stops
// with a *LimitError instead of growing until memory runs out. The bound
// is lowered here (the run's is MaxPending) so that the test stays small.
func TestPendingBound(t *testing.T) {
	p := policy3(t, retry.FullJitter)
	// Every request arrives long before the first attempt's reply.
	s := Layers{Depth: 1, Requests: 5_000, Hop: time.Hour}
	_, err := s.run(Fleet{Policy: p}, 1_000)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.True(t, le.Pending)
	assert.EqualValues(t, 1_000, le.Limit)
	assert.Contains(t, le.Error(), "MaxPending")

	// Requests that never give up pile up while the server rejects them.
	forever, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxDelay(time.Second))
	require.NoError(t, err)
	o := quick()
	o.Trigger.Mode, o.Rate = Reject, 5_000
	_, err = o.run(Fleet{Policy: forever}, 1_000)
	le = nil
	require.ErrorAs(t, err, &le)
	assert.True(t, le.Pending)
	assert.Positive(t, le.At)
}
