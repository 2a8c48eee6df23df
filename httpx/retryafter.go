package httpx

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// maxSeconds is the largest number of seconds a time.Duration can hold.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter reads the value of a Retry-After header: a number of
// seconds ("120") or an HTTP date in any of the three formats
// [http.ParseTime] reads, taken relative to now. Surrounding spaces and tabs
// are ignored.
//
// A date at or before now means no wait: (0, true). An empty value, garbage,
// or a negative or fractional number returns (0, false): the caller should
// fall back to its own backoff. The duration returned is never negative. A
// wait too long for a time.Duration (a number of seconds beyond about 292
// years, or a date as far ahead) is returned as the largest time.Duration,
// which is longer than any maximum delay: the server asked the client to
// stay away, and the retries end.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return 0, false
	}
	if isDigit(v[0]) {
		if secs, ok := parseSeconds(v); ok {
			if secs > maxSeconds {
				return math.MaxInt64, true
			}
			return time.Duration(secs) * time.Second, true
		}
		// Not a number; a date never starts with a digit either, but
		// http.ParseTime decides.
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// parseSeconds parses a non-empty string of ASCII digits. A value beyond
// maxSeconds comes back as maxSeconds+1.
func parseSeconds(v string) (int64, bool) {
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		if n <= maxSeconds {
			n = n*10 + int64(v[i]-'0')
		}
	}
	return min(n, maxSeconds+1), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
