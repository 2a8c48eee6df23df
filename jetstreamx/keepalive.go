package jetstreamx

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keeper marks a message in progress every interval while its handler
// runs, so that the server does not deliver it again after AckWait. It
// starts no goroutine until the first interval has passed (most handlers
// return sooner): a timer's function marks the message and sets the timer
// again, until stop.
type keeper struct {
	msg   jetstream.Msg
	every time.Duration

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	first   error         // the first error InProgress returned
	exited  chan struct{} // a function that found the keeper stopped
}

// keepAlive starts marking msg in progress every interval, until the
// returned stop is called. stop returns once no function of the timer can
// still run, with the first error InProgress returned (nil for none): no
// goroutine outlives the handler invocation that owns the keeper.
func keepAlive(msg jetstream.Msg, every time.Duration) (stop func() error) {
	k := &keeper{msg: msg, every: every, exited: make(chan struct{}, 1)}
	k.mu.Lock()
	k.t = time.AfterFunc(every, k.fire)
	k.mu.Unlock()
	return k.stop
}

// fire is the timer's function: mark the message, set the timer again.
func (k *keeper) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		k.exited <- struct{}{}
		return
	}
	if err := k.msg.InProgress(); err != nil && k.first == nil {
		k.first = err
	}
	k.t.Reset(k.every)
}

// stop stops the timer. When it had already fired, its function was
// started and has not taken the lock yet (it sets the timer again under
// the lock): stop waits for it to find the keeper stopped.
func (k *keeper) stop() error {
	k.mu.Lock()
	k.stopped = true
	pending := k.t.Stop()
	first := k.first
	k.mu.Unlock()
	if !pending {
		<-k.exited
	}
	return first
}
