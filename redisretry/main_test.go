package redisretry_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		os.Exit(workerMain(mode))
	}
	goleak.VerifyTestMain(m)
}
