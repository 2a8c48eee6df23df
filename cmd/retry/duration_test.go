package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{999, "999ns"},
		{1234, "1.23µs"},
		{3217500, "3.22ms"},
		{181234 * time.Microsecond, "181ms"},
		{1600 * time.Millisecond, "1.6s"},
		{48 * time.Millisecond, "48ms"},
		{25600 * time.Millisecond, "25.6s"},
		{95123 * time.Millisecond, "1m35.1s"},
		{2*time.Hour + 3*time.Second + 449*time.Millisecond, "2h0m3.4s"},
		{time.Duration(1<<63 - 1), "2562047h47m16.854775807s"}, // rounding up would overflow: kept
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, formatDuration(tt.d), "%d", int64(tt.d))
	}
}

// TestRoundDurationProperties: rounding keeps three significant digits (an
// error below 0.5% of the value), never more than 50ms, and is stable.
func TestRoundDurationProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := time.Duration(rapid.Int64Range(0, 1<<62).Draw(t, "d"))
		r := roundDuration(d)
		diff := max(r-d, d-r)
		if diff*200 > d || diff > 50*time.Millisecond {
			t.Fatalf("roundDuration(%v) = %v: off by %v", d, r, diff)
		}
		if roundDuration(r) != r {
			t.Fatalf("roundDuration(%v) = %v, rounded again %v", d, r, roundDuration(r))
		}
	})
}
