//go:build race

package benchmarks

// raceEnabled reports whether the race detector is on: TestHedgeTail then
// runs a tenth of its requests (the full run takes minutes under -race).
const raceEnabled = true
