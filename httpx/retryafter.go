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
// a negative or fractional number, or a number of seconds too large for a
// time.Duration returns (0, false): the caller should fall back to its own
// backoff. The duration returned is never negative. A date so far ahead that
// the wait overflows is returned as the largest time.Duration.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return 0, false
	}
	if isDigit(v[0]) {
		if secs, ok := parseSeconds(v); ok {
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

// parseSeconds parses a non-empty string of ASCII digits that fits in a
// time.Duration once multiplied by a second.
func parseSeconds(v string) (int64, bool) {
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
		if n > maxSeconds {
			return 0, false
		}
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
