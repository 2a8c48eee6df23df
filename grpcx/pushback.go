package grpcx

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// pushbackKey is the trailer in which a server tells the client how long
// to wait before retrying, in milliseconds (gRFC A6).
const pushbackKey = "grpc-retry-pushback-ms"

// parsePushback reads the values of a grpc-retry-pushback-ms trailer.
// present is false when there is none. ok is true for a single decimal
// integer of zero or more milliseconds (an optional sign as strconv
// accepts), d then being its duration, saturated at the largest
// time.Duration; a value too long for an int64 counts as that largest
// duration, so that it stops the loop as a hint beyond the maximum delay
// rather than as garbage. ok is false (the server asks the client not to
// retry, or said something unreadable) for a negative value, anything else
// that is not an integer, or several values, as in grpc-go.
func parsePushback(vals []string) (d time.Duration, present, ok bool) {
	switch len(vals) {
	case 0:
		return 0, false, false
	case 1:
	default:
		return 0, true, false
	}
	ms, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && ms > 0 {
			return math.MaxInt64, true, true
		}
		return 0, true, false
	}
	if ms < 0 {
		return 0, true, false
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, true, true
	}
	return time.Duration(ms) * time.Millisecond, true, true
}
