// Package grpcbench compares gRPC client retries side by side over
// loopback: no retries at all (plain), this repository's grpcx
// interceptor (retrykit), the go-grpc-middleware v2 retry interceptor, and
// grpc-go's built-in retries configured by a service config. It is a
// module of its own, apart from the benchmarks module, because
// google.golang.org/grpc v1.85 needs a go 1.26 line and the benchmarks
// module keeps the project's Go 1.25 floor.
//
// Run: go test -run '^$' -bench . -benchmem -count 10 | tee bench.txt;
// benchstat -col /lib bench.txt.
package grpcbench
