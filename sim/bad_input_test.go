package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

func TestOpenRejectsBadInput(t *testing.T) {
	f := Fleet{Policy: policy3(t, retry.FullJitter)}
	for _, tc := range []struct {
		edit func(*Open)
		want string
	}{
		{func(o *Open) { o.Clients = 0 }, "Open.Clients"},
		{func(o *Open) { o.Rate = -1 }, "Open.Rate"},
		{func(o *Open) { o.Workers = 0 }, "Open.Workers"},
		{func(o *Open) { o.Service = 0 }, "Open.Service"},
		{func(o *Open) { o.Queue = -1 }, "Open.Queue"},
		{func(o *Open) { o.Timeout = -1 }, "Open.Timeout"},
		{func(o *Open) { o.Trigger.Length = -time.Second }, "Open.Trigger.Length"},
		{func(o *Open) { o.Trigger.Mode = Slow; o.Trigger.Magnitude = 1.5 }, "Open.Trigger.Magnitude"},
		{func(o *Open) { o.Trigger.Mode = 9 }, "Open.Trigger.Mode"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			s := Metastable()
			tc.edit(&s)
			_, err := s.Run(f)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestOpenStopsAtTheEventLimit: the 94,500 caller requests fit a limit of
// 100,000 events, their attempts' events do not.
func TestOpenStopsAtTheEventLimit(t *testing.T) {
	s := Metastable()
	s.MaxEvents = 100_000
	_, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	var le *LimitError
	require.ErrorAs(t, err, &le)
	assert.False(t, le.Pending)
	assert.EqualValues(t, 100_000, le.Limit)
	assert.Contains(t, err.Error(), "event limit (MaxEvents)")
}

// TestRunsTooFineOrLongAreErrors: a series of more than MaxBuckets buckets
// (a fine bucket, a long run) is an error naming the field, not a process
// out of memory.
func TestRunsTooFineOrLongAreErrors(t *testing.T) {
	f := Fleet{Policy: policy3(t, retry.FullJitter)}
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"open bucket 1ns", func() error { s := Metastable(); s.Bucket = 1; _, err := s.Run(f); return err }, "Open.Bucket "},
		{"open after 2000000h", func() error { s := Metastable(); s.After = 2_000_000 * time.Hour; _, err := s.Run(f); return err }, "Open.After "},
		{"open after 300h", func() error { s := Metastable(); s.After = 300 * time.Hour; _, err := s.Run(f); return err }, "Open.After "},
		{"open outage 2000000h", func() error {
			s := Metastable()
			s.Trigger.Length = 2_000_000 * time.Hour
			_, err := s.Run(f)
			return err
		}, "Open.Trigger.Length "},
		{"herd bucket 1ns", func() error { _, err := Herd{Clients: 10, Rate: 100, Burst: 1, Bucket: 1}.Run(f); return err }, "Herd.Bucket "},
		{"herd after 2000000h", func() error {
			_, err := Herd{Clients: 10, Rate: 100, Burst: 1, After: 2_000_000 * time.Hour}.Run(f)
			return err
		}, "Herd.After "},
		{"sweep bucket 1ns", func() error {
			s := Metastable()
			s.Bucket = 1
			_, err := Sweep{Base: s, Magnitudes: []float64{1}, Lengths: []time.Duration{time.Second}}.Run(f)
			return err
		}, "Open.Bucket "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
