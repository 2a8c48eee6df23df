//go:build race

package grpcx_test

// raceEnabled: the race detector makes sync.Pool drop a share of what is
// put back, so pooled values are allocated again now and then.
const raceEnabled = true
