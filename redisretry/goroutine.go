package redisretry

import (
	"context"
	"fmt"
	"time"
)

// The fleet's goroutine: the periodic exchanges of every limit, and the
// exchanges calls ask it for, each within Timeout.

// run is the fleet's goroutine: it serves the jobs calls ask for and syncs
// every limit every interval, until Close.
func (f *Fleet) run() {
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-f.closing:
			return
		case j := <-f.jobs:
			f.serve(j)
		case <-t.C:
			_ = f.syncAll()
		case <-f.kick:
			_ = f.syncAll()
		}
	}
}

// busy reports whether the fleet's goroutine is making a limit's first
// exchange: a draw that could not be served meanwhile is not Redis's
// failure, and decides alone without an event.
func (f *Fleet) busy() bool { return f.starting.Load() }

// kickSync asks the fleet's goroutine for an exchange now, without
// waiting.
func (f *Fleet) kickSync() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// syncAll syncs every limit, each within Timeout, and returns the first
// error.
func (f *Fleet) syncAll() error {
	f.mu.Lock()
	members := f.members
	f.mu.Unlock()
	var first error
	for _, m := range members {
		if _, err := f.syncOne(m, members); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncOne syncs m within Timeout. A failure, or an answer later than
// Timeout, makes m decide alone; a timely answer makes it share again.
// Once Timeout has passed, while the exchange still runs, the limits of
// waiting decide alone (see watch).
func (f *Fleet) syncOne(m member, waiting []member) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	defer f.watch(waiting, f.timeout)()
	start := time.Now()
	asked, err := m.sync(ctx)
	if err == nil && asked && time.Since(start) > f.timeout {
		err = errLate(f.timeout)
	}
	switch {
	case err != nil:
		m.health().down(err)
	case asked:
		m.health().up()
	}
	return asked, err
}

// errLate is the error of an exchange that took longer than d.
func errLate(d time.Duration) error {
	return fmt.Errorf("redisretry: Redis did not answer within %v: %w", d, context.DeadlineExceeded)
}

// A job is an exchange a call asks the fleet's goroutine for, and waits
// for at most Timeout.
type job struct {
	do    func(ctx context.Context) // on the fleet's goroutine
	late  func()                    // on the fleet's goroutine, when the asker gave up before do ended
	first bool                      // a limit's first exchange: its deadline is StartTimeout
	state handover
	done  chan struct{}
}

// deadline is how long j may run: StartTimeout for a limit's first
// exchange, Timeout for any other.
func (f *Fleet) deadline(j *job) time.Duration {
	if j.first {
		return f.start
	}
	return f.timeout
}

// ask runs j on the fleet's goroutine and reports whether it ended within
// its deadline; when it did not, j.late runs once it ends.
func (f *Fleet) ask(j *job) bool {
	j.done = make(chan struct{})
	t := time.NewTimer(f.deadline(j))
	defer t.Stop()
	select {
	case f.jobs <- j:
	case <-t.C:
		return false // the goroutine is busy with an exchange that is late
	case <-f.closing:
		return false
	}
	select {
	case <-j.done:
		return true
	case <-t.C:
		if j.state.abandon() {
			return false
		}
		<-j.done // delivered as the timer fired
		return true
	}
}

// watch makes every limit in waiting decide alone, with a Sharing event,
// once the exchange the fleet's goroutine is about to make has run for d
// (Timeout, or StartTimeout for a first exchange): a client that does not let contexts bound its reads (go-redis's
// default) holds the goroutine in a stalled exchange for its ReadTimeout,
// or for good, and none of those limits can exchange meanwhile. It
// returns the function that ends the watch, which waits for the reports of
// a watch that fired: none outlives the exchange.
func (f *Fleet) watch(waiting []member, d time.Duration) (stop func()) {
	fired := make(chan struct{})
	t := time.AfterFunc(d, func() {
		defer close(fired)
		for _, m := range waiting {
			m.health().down(errLate(d))
		}
	})
	return func() {
		if !t.Stop() {
			<-fired
		}
	}
}

// serve runs j within its deadline, and hands its result over; the limits
// decide alone once it has run for that long, as for a periodic exchange.
// While a first exchange runs, starting says so (see [Fleet.busy]).
func (f *Fleet) serve(j *job) {
	d := f.deadline(j)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	f.mu.Lock()
	members := f.members
	f.mu.Unlock()
	if j.first {
		f.starting.Store(true)
	}
	stop := f.watch(members, d)
	j.do(ctx)
	stop()
	f.starting.Store(false)
	if j.state.deliver() {
		close(j.done)
	} else if j.late != nil {
		j.late()
	}
}
