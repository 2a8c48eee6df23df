package redisretry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// addrEnv names the variable that points the tests at a Redis server.
const addrEnv = "RETRYKIT_REDIS_ADDR"

// defaultAddr is the server of the CI machine: no password, nothing kept.
const defaultAddr = "127.0.0.1:6379"

// redisAddr returns the address of the test server, after checking that it
// answers: the test skips when it does not (fails under CI=true).
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(addrEnv)
	if addr == "" {
		addr = defaultAddr
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("no Redis at %s (%v): set %s to a server's host:port", addr, err, addrEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return addr
}

// newClient returns a client of the server at addr, closed when the test
// ends. It lets the context's deadline bound every command.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newPrefix returns a key prefix for this test alone; its keys are deleted
// when the test ends.
func newPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "rktest-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, p+":*").Result()
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return p
}

// newFleet returns a fleet on c, closed when the test ends. Unless the test
// sets one, its Timeout is long enough that a loaded test machine does not
// make the limits fall back.
func newFleet(t testing.TB, c redis.UniversalClient, o redisretry.Options) *redisretry.Fleet {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	f, err := redisretry.New(c, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// sharing records the Sharing events of a fleet.
type sharing struct {
	events chan retry.SharingInfo
}

func newSharing() *sharing { return &sharing{events: make(chan retry.SharingInfo, 1000)} }

func (s *sharing) observer() *retry.Observer {
	return &retry.Observer{Sharing: func(_ context.Context, e retry.SharingInfo) { s.events <- e }}
}

// next waits for the next event, at most d.
func (s *sharing) next(t testing.TB, d time.Duration) retry.SharingInfo {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(d):
		t.Fatalf("no Sharing event within %v", d)
		return retry.SharingInfo{}
	}
}

// none checks that no event came.
func (s *sharing) none(t testing.TB) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected Sharing event %+v", e)
	default:
	}
}

// until waits for an event whose Shared is shared, skipping others (a
// loaded machine can make an exchange late and the limit flap), at most
// 30s.
func (s *sharing) until(t testing.TB, shared bool, what string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-s.events:
			if e.Shared == shared {
				return
			}
		case <-deadline:
			t.Fatalf("%s: no Sharing event with Shared %v within 30s", what, shared)
		}
	}
}
