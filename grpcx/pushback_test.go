package grpcx

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParsePushback(t *testing.T) {
	for _, tc := range []struct {
		vals        []string
		d           time.Duration
		present, ok bool
	}{
		{nil, 0, false, false},
		{[]string{"0"}, 0, true, true},
		{[]string{"150"}, 150 * time.Millisecond, true, true},
		{[]string{"+150"}, 150 * time.Millisecond, true, true},
		{[]string{"2147483647"}, 2147483647 * time.Millisecond, true, true},
		{[]string{"9223372036854775807"}, math.MaxInt64, true, true},
		{[]string{"99999999999999999999"}, math.MaxInt64, true, true},
		{[]string{"-1"}, 0, true, false},
		{[]string{"-99999999999999999999"}, 0, true, false},
		{[]string{""}, 0, true, false},
		{[]string{"1s"}, 0, true, false},
		{[]string{" 1"}, 0, true, false},
		{[]string{"1", "2"}, 0, true, false},
	} {
		d, present, ok := parsePushback(tc.vals)
		assert.Equal(t, tc.d, d, "%q", tc.vals)
		assert.Equal(t, tc.present, present, "%q", tc.vals)
		assert.Equal(t, tc.ok, ok, "%q", tc.vals)
	}
}

// FuzzParsePushback checks the parser's contract on any value: never a
// panic, never a negative duration, ok exactly for non-negative decimal
// integers, and the value's milliseconds (saturated) when ok.
func FuzzParsePushback(f *testing.F) {
	for _, s := range []string{"0", "150", "-1", "+7", "", "abc", "99999999999999999999", "9223372036854", " 1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, present, ok := parsePushback([]string{s})
		if !present {
			t.Fatalf("%q: a value is present", s)
		}
		if d < 0 {
			t.Fatalf("%q: negative duration %v", s, d)
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err == nil && ms >= 0:
			want := time.Duration(math.MaxInt64)
			if ms <= math.MaxInt64/int64(time.Millisecond) {
				want = time.Duration(ms) * time.Millisecond
			}
			if !ok || d != want {
				t.Fatalf("%q: got (%v, %v), want (%v, true)", s, d, ok, want)
			}
		case err == nil:
			if ok {
				t.Fatalf("%q: a negative value must stop", s)
			}
		case ok && d != math.MaxInt64:
			t.Fatalf("%q: only an out-of-range positive integer is accepted among unparsable values, got %v", s, d)
		}
	})
}
