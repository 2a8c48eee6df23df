package main

import "time"

// formatDuration writes a duration for people in the one style of -dry-run,
// -v and the give-up line: Go's syntax, which the flags take, rounded to
// three significant digits (see roundDuration): 181ms, 3.22ms, 1.6s,
// 25.6s, 1m35.1s.
func formatDuration(d time.Duration) string { return roundDuration(d).String() }

// roundDuration rounds d to three significant digits, and to a tenth of a
// second at most: 3.2175ms is 3.22ms, 181.234ms is 181ms, 95.123s is 1m35.1s.
// Below a microsecond it is exact.
func roundDuration(d time.Duration) time.Duration {
	q := time.Duration(1)
	for q < 100*time.Millisecond && d >= 1000*q {
		q *= 10
	}
	return d.Round(q)
}
