package jetstreamx

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keepAlive marks msg in progress every interval, so that the server does
// not deliver it again after AckWait while its handler runs, until the
// returned stop is called. stop returns once the goroutine keepAlive
// started has ended, with the first error InProgress returned (nil for
// none): no goroutine outlives the handler invocation that owns it.
func keepAlive(msg jetstream.Msg, every time.Duration) (stop func() error) {
	done := make(chan struct{})
	ended := make(chan error, 1)
	go func() {
		t := time.NewTicker(every)
		var first error
		for {
			select {
			case <-done:
				t.Stop()
				ended <- first
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil && first == nil {
					first = err
				}
			}
		}
	}()
	return func() error {
		close(done)
		return <-ended
	}
}
