package benchmarks

import (
	"context"
	"time"

	"github.com/sony/gobreaker/v2"
)

// NewGobreaker returns a Breaker for sony/gobreaker v2, configured as its
// README shows: NewCircuitBreaker[T](Settings{...}) and Execute. ReadyToTrip
// opens it after threshold consecutive failures; Timeout is one minute.
func NewGobreaker(threshold uint32) Breaker {
	cb := gobreaker.NewCircuitBreaker[int](gobreaker.Settings{
		Name:    "bench",
		Timeout: time.Minute,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= threshold
		},
	})
	return Breaker{
		Run: func(ctx context.Context, op Op) (int, error) {
			return cb.Execute(func() (int, error) { return op(ctx) })
		},
		Closed: func() bool { return cb.State() == gobreaker.StateClosed },
	}
}
