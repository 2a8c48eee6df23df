package httpx_test

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

var epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	maxSecs := strconv.FormatInt(math.MaxInt64/int64(time.Second), 10)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"2", 2 * time.Second, true},
		{"120", 2 * time.Minute, true},
		{" 7\t", 7 * time.Second, true},
		{"007", 7 * time.Second, true},
		{maxSecs, time.Duration(math.MaxInt64/int64(time.Second)) * time.Second, true},
		{"Mon, 23 Nov 2026 12:00:30 GMT", 30 * time.Second, true},             // IMF-fixdate
		{"Monday, 23-Nov-26 12:01:00 GMT", time.Minute, true},                 // RFC 850
		{"Mon Nov 23 12:00:05 2026", 5 * time.Second, true},                   // asctime
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0, true},                            // past
		{"Mon, 23 Nov 2026 12:00:00 GMT", 0, true},                            // now
		{"Fri, 31 Dec 9999 23:59:59 GMT", time.Duration(math.MaxInt64), true}, // saturates
		{"", 0, false},
		{"   ", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"1e3", 0, false},
		{"5s", 0, false},
		{"0x10", 0, false},
		{"١٢", 0, false}, // Arabic-Indic digits
		{maxSecs + "0", time.Duration(math.MaxInt64), true}, // saturates
		{"99999999999999999999999999", time.Duration(math.MaxInt64), true},
		{strings.Repeat("9", 10000), time.Duration(math.MaxInt64), true},
		{"99999999999999999999999999x", 0, false},
		{"soon", 0, false},
		{"Mon, 32 Nov 2026 12:00:00 GMT", 0, false},
		{"2026-11-23T12:00:30Z", 0, false}, // not an HTTP date
	}
	for _, tc := range cases {
		got, ok := httpx.ParseRetryAfter(tc.in, epoch)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
	}
}

func TestParseRetryAfterProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		now := time.Unix(rapid.Int64Range(0, 1<<34).Draw(t, "now"), 0).UTC()
		secs := rapid.Int64Range(0, math.MaxInt64/int64(time.Second)).Draw(t, "secs")
		d, ok := httpx.ParseRetryAfter(strconv.FormatInt(secs, 10), now)
		if !ok || d != time.Duration(secs)*time.Second {
			t.Fatalf("seconds %d: got %v, %v", secs, d, ok)
		}
		off := time.Duration(rapid.Int64Range(-1<<32, 1<<32).Draw(t, "offset")) * time.Second
		layout := rapid.SampledFrom([]string{http.TimeFormat, time.RFC850, time.ANSIC}).Draw(t, "layout")
		v := now.Add(off).Format(layout)
		if layout != time.ANSIC {
			v = strings.Replace(v, "UTC", "GMT", 1)
		}
		d, ok = httpx.ParseRetryAfter(v, now)
		want := max(off, 0)
		if layout == time.RFC850 { // two-digit years lose the century
			want = -1
		}
		if !ok || (want >= 0 && d != want) || d < 0 {
			t.Fatalf("%q at %v: got %v, %v, want %v", v, now, d, ok, want)
		}
	})
}

// FuzzParseRetryAfter checks that ParseRetryAfter never panics, never
// returns a negative duration, reads plain numbers of seconds exactly, and
// agrees with http.ParseTime on every value it reads as a date.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "2", "120", "-1", "1.5", "", " 3 ", "99999999999999999999",
		"Mon, 23 Nov 2026 12:00:30 GMT", "Monday, 23-Nov-26 12:01:00 GMT", "Mon Nov 23 12:00:05 2026",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"} {
		f.Add(s, epoch.Unix())
	}
	f.Fuzz(func(t *testing.T, v string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		d, ok := httpx.ParseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v: negative", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false: a refusal must be 0", v, d)
		}
		trimmed := strings.Trim(v, " \t")
		if n, err := strconv.ParseUint(trimmed, 10, 63); err == nil && trimmed != "" && trimmed[0] != '+' {
			want := time.Duration(math.MaxInt64) // saturated
			if n <= uint64(math.MaxInt64/int64(time.Second)) {
				want = time.Duration(n) * time.Second
			}
			if !ok || d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v", v, d, ok, want)
			}
			return
		}
		if allDigits(trimmed) { // too long for ParseUint: saturated
			if !ok || d != time.Duration(math.MaxInt64) {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want the largest duration", v, d, ok)
			}
			return
		}
		if when, err := http.ParseTime(trimmed); err == nil {
			if want := max(when.Sub(now), 0); !ok || d != want {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; http.ParseTime says %v", v, d, ok, want)
			}
		} else if ok {
			t.Fatalf("ParseRetryAfter(%q) = %v, true for a value that is neither seconds nor a date", v, d)
		}
	})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
