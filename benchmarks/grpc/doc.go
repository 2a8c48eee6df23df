// Package grpcbench compares gRPC client retries side by side over
// loopback: no retries at all (plain), this repository's grpcx
// interceptor (retrykit), the go-grpc-middleware v2 retry interceptor, and
// grpc-go's built-in retries configured by a service config. It is a
// module of its own, apart from the benchmarks module, because
// google.golang.org/grpc v1.85 needs a go 1.26 line and the benchmarks
// module keeps the project's Go 1.25 floor.
//
// The timings quoted in the README come from benchmarks/run.sh
// (FILTER='^GRPC' for these alone): one process per client and round, in a
// random order, with paired ratios. Its instruction counts come from
// instructions.sh, which runs one client's benchmark under valgrind's
// callgrind (load-independent, where timings on a shared machine are
// not). go test ./... runs the contract test.
package grpcbench
