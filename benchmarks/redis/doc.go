// Package redisbench compares what sharing retry limits through Redis
// costs: the Redis commands per 10,000 calls of retrykit's redisretry
// (a fleet budget and breaker) beside sony/gobreaker v2's
// DistributedCircuitBreaker, on the same Redis server, at 1% and 50% of
// attempts failing (INFO commandstats before and after), and the time of a
// successful call through a shared budget beside a local one.
//
// It is a module of its own, so that go-redis and gobreaker stay out of
// the root module's graph. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x -count 5 ./benchmarks/redis
//
// against a redis-server it starts itself (redis-server must be on PATH).
package redisbench
