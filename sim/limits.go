package sim

import (
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// MaxBuckets is the most time buckets a run's series may hold: a finer
// Bucket or a longer run is an error, not an exhausted memory.
const MaxBuckets = 1_000_000

// maxSpan bounds every duration that places events on a run's timeline
// (trigger start and length, the time after it), so that their sum stays
// far from overflowing.
const maxSpan = 100_000 * time.Hour

// checkSpan reports a run of horizon whose series of bucket would hold
// more than MaxBuckets buckets. scenario names the struct; bucketSet says
// whether the caller chose Bucket (the error names it) or took the default
// (the error names After).
func checkSpan(scenario string, horizon, bucket time.Duration, bucketSet bool) error {
	n := int64(horizon / bucket)
	if n <= MaxBuckets {
		return nil
	}
	field := "After"
	if bucketSet {
		field = "Bucket"
	}
	return fmt.Errorf("%w: sim: %s.%s makes %d time buckets of %v over a run of %v, more than MaxBuckets (%d): raise Bucket or shorten After",
		retry.ErrInvalidConfig, scenario, field, n, bucket, horizon, MaxBuckets)
}

// DefaultMaxEvents bounds a run when its MaxEvents is 0: about a minute of
// simulation on a slow machine.
const DefaultMaxEvents = 500_000_000

// eventLimit is the error of a run stopped by its event limit.
func eventLimit(limit, at int64) error {
	return fmt.Errorf("sim: stopped after %d events at virtual time %v: the run exceeds its event limit (MaxEvents, -max-events); shorten it or raise the limit",
		limit, time.Duration(at).Round(time.Millisecond))
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
