package benchmarks

// Breaker is a circuit-breaker adapter: Run calls the operation once through
// the breaker (no retries), and Closed reports whether the breaker is closed,
// so a benchmark can prove it measured the closed path. Both are safe for
// concurrent use.
type Breaker struct {
	Run    Runner
	Closed func() bool
}
