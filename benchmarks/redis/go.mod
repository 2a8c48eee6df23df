module github.com/retrykit/retry/benchmarks/redis

go 1.26.0

replace github.com/retrykit/retry => ../../

replace github.com/retrykit/retry/redisretry => ../../redisretry

require (
	github.com/redis/go-redis/v9 v9.23.0
	github.com/retrykit/retry v0.0.0-00010101000000-000000000000
	github.com/retrykit/retry/redisretry v0.0.0-00010101000000-000000000000
	github.com/sony/gobreaker/v2 v2.4.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
