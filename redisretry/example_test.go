package redisretry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// The example needs a Redis server: go test compiles it without running it
// (an example cannot skip), and TestExample runs its code against the test
// server.

// Every process of the fleet makes the same budget, under the same name;
// together they retry at most what the one budget allows (plus their
// leases).
func Example() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}})
	defer client.Close()
	if err := share(client, "example"); err != nil {
		log.Fatal(err)
	}
}

// share makes a fleet on client and a budget shared under name, and
// retries calls of a failing dependency with it.
func share(client redis.UniversalClient, prefix string) error {
	fleet, err := redisretry.New(client, redisretry.Options{Prefix: prefix})
	if err != nil {
		return err
	}
	defer fleet.Close()
	budget, err := fleet.Budget("payments", retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1}, redisretry.Lease(2))
	if err != nil {
		return err
	}
	policy, err := retry.NewPolicy(retry.WithBudget(budget), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		return err
	}
	down := errors.New("payments: 503")
	for i := range 5 {
		_, err := retry.Do(context.Background(), func(context.Context) (int, error) { return 0, down }, policy)
		fmt.Println(i, retry.ReasonOf(err))
	}
	return nil
}

func TestExample(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	if err := share(c, newPrefix(t, c)); err != nil {
		t.Fatal(err)
	}
}
