package redisretry_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// goRedisOwn are goroutines go-redis v9.23 starts per client and does not
// always stop when the client is closed (its maintenance-notifications
// breaker manager): go-redis's, not the fleet's.
var goRedisOwn = goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/maintnotifications.(*CircuitBreakerManager).cleanupLoop")

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		os.Exit(workerMain(mode))
	}
	goleak.VerifyTestMain(m, goRedisOwn)
}
