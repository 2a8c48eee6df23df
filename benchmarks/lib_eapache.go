package benchmarks

import (
	"context"
	"time"

	"github.com/eapache/go-resiliency/breaker"
)

// NewEapache returns a Breaker for eapache/go-resiliency's breaker:
// breaker.New(errorThreshold, successThreshold, timeout) and Run.
//
// Its rule is not "consecutive failures": it opens after errorThreshold
// errors with no error-free period of at least timeout between them, and
// successes do not reset the count. With 10% failures and any useful
// timeout it therefore opens; the 10%-failure benchmark passes a threshold
// it cannot reach, so that it measures the closed path as the others do.
// Opening it starts a goroutine that sleeps for timeout.
func NewEapache(errorThreshold int) Breaker {
	b := breaker.New(errorThreshold, 1, time.Minute)
	return Breaker{
		Run: func(ctx context.Context, op Op) (int, error) {
			var v int
			err := b.Run(func() error {
				var err error
				v, err = op(ctx)
				return err
			})
			return v, err
		},
		Closed: func() bool { return b.GetState() == breaker.Closed },
	}
}
