package redisbench

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// gobreakerStore is the SharedDataStore gobreaker v2's
// DistributedCircuitBreaker asks for, on Redis, written the way its
// documentation describes: a lock key set with NX and an expiry, the
// state as one value.
type gobreakerStore struct {
	c redis.UniversalClient
}

var errLocked = errors.New("gobreakerStore: locked")

func (s gobreakerStore) Lock(name string) error {
	ok, err := s.c.SetNX(context.Background(), name, 1, time.Second).Result()
	if err != nil {
		return err
	}
	if !ok {
		return errLocked
	}
	return nil
}

func (s gobreakerStore) Unlock(name string) error {
	return s.c.Del(context.Background(), name).Err()
}

func (s gobreakerStore) GetData(name string) ([]byte, error) {
	b, err := s.c.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

func (s gobreakerStore) SetData(name string, data []byte) error {
	return s.c.Set(context.Background(), name, data, 0).Err()
}
