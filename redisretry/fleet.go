package redisretry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retrykit/retry"
)

// Defaults of [Options].
const (
	DefaultPrefix       = "retrykit"
	DefaultTimeout      = 50 * time.Millisecond
	DefaultStartTimeout = time.Second
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultExpire       = 10 * time.Minute
)

// Options configures a [Fleet]. A zero field takes the default stated
// beside it.
type Options struct {
	// Prefix begins every key the fleet writes, "<Prefix>:{<name>}:budget"
	// and "<Prefix>:{<name>}:breaker": processes share a limit when they
	// use the same Redis database, Prefix and name. Default "retrykit". It
	// must not hold braces, spaces or control characters.
	Prefix string
	// Timeout bounds every exchange with Redis, from the moment it is
	// asked for: a retry that needs one waits at most this long before its
	// budget decides alone. Default 50ms.
	Timeout time.Duration
	// StartTimeout bounds the first exchange of each limit, which
	// [Fleet.Budget] and [Fleet.Breaker] make before they return and wait
	// for: it may have to connect, make the handshake and load a script,
	// slower than the exchanges after it, above all when many processes
	// start at once. A first exchange within StartTimeout reports nothing;
	// one that fails, or runs past it, makes the limit decide alone with a
	// Sharing event, as any exchange past Timeout does. While it runs, the
	// fleet's other limits wait for it without a Sharing event (they make
	// their periodic exchanges after it), and a retry of theirs that needs
	// Redis meanwhile draws on the process's own budget after Timeout,
	// without an event. Default the larger of 1s and Timeout; it must not
	// be below Timeout.
	StartTimeout time.Duration
	// SyncInterval is how often the fleet sends what its limits gathered
	// (deposits, failure counts) and reads the shared state (whether the
	// shared budget has tokens, the shared breaker's state). It bounds how
	// stale a process's view of the others is. Default 100ms; at least
	// 1ms. The processes that share a breaker must give the same
	// SyncInterval and Timeout: the one that exchanges drops the counts of
	// another it has not heard from within 3 × (SyncInterval + Timeout) of
	// its own, and names the next process to probe after that long.
	SyncInterval time.Duration
	// Expire is how long Redis keeps the state of a limit that no process
	// exchanges with: every exchange renews it. Default 10m; at least
	// 10 × SyncInterval.
	Expire time.Duration
	// Observer, when not nil, receives [retry.Observer].Sharing events:
	// a limit that stops sharing (Redis failed, or did not answer within
	// Timeout) and decides alone, and one that shares again. They are
	// called from the fleet's goroutine, from the call that noticed the
	// failure, or from a timer's goroutine when an exchange has run for
	// Timeout, one limit's in order; the fleet's goroutine waits for a hook
	// called from a timer's before it goes on. A hook that panics panics
	// that goroutine: outside a call, the process crashes. The same holds
	// for a breaker's OnStateChange when the fleet changes its state.
	Observer *retry.Observer
}

// A Fleet shares retry budgets and circuit breakers among the processes
// that use the same Redis (a node, Sentinel or Cluster, through go-redis's
// UniversalClient) and key prefix. [Fleet.Budget] and [Fleet.Breaker] make
// a [retry.Budget] and a [retry.Breaker] to pass to [retry.WithBudget] and
// [retry.WithBreaker] like any other: Do, the engine and every adapter use
// them unchanged.
//
// A Fleet owns one goroutine, which exchanges with Redis for all its
// limits: every SyncInterval, and when a retry needs tokens its process
// does not hold. A successful call never waits for Redis. Close stops the
// goroutine. A Fleet is safe for concurrent use. The client stays the
// caller's: the Fleet neither configures nor closes it (passwords, ACL
// users and TLS are go-redis options).
type Fleet struct {
	client   redis.UniversalClient
	prefix   string
	timeout  time.Duration
	start    time.Duration // the deadline of a limit's first exchange
	interval time.Duration
	expire   time.Duration
	observer *retry.Observer

	mu      sync.Mutex
	members []member
	names   map[string]bool // "kind name"
	closed  bool

	jobs      chan *job
	kick      chan struct{} // a limit has something to send at once
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	starting  atomic.Bool // the goroutine is making a limit's first exchange
}

// A member is a limit whose state the fleet's goroutine syncs.
type member interface {
	// sync sends what the limit gathered and reads the shared state, when
	// it has something to send or learn; it reports whether it asked
	// Redis.
	sync(ctx context.Context) (asked bool, err error)
	health() *health
}

// New returns a Fleet that shares limits through c, and starts its
// goroutine. It returns an error when c is nil or an option is invalid. It
// does not contact Redis: an unreachable server is not an error, the
// limits decide alone until it answers.
func New(c redis.UniversalClient, o Options) (*Fleet, error) {
	if c == nil {
		return nil, errors.New("redisretry: New: the client is nil")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := checkName("Options.Prefix", o.Prefix, false); err != nil {
		return nil, fmt.Errorf("redisretry: New: %w", err)
	}
	o.Timeout = orDefault(o.Timeout, DefaultTimeout)
	o.StartTimeout = orDefault(o.StartTimeout, max(DefaultStartTimeout, o.Timeout))
	o.SyncInterval = orDefault(o.SyncInterval, DefaultSyncInterval)
	o.Expire = orDefault(o.Expire, DefaultExpire)
	switch {
	case o.Timeout < 0:
		return nil, fmt.Errorf("redisretry: New: Options.Timeout must not be negative, got %v", o.Timeout)
	case o.StartTimeout < o.Timeout:
		return nil, fmt.Errorf("redisretry: New: Options.StartTimeout (%v) must not be below Timeout (%v)", o.StartTimeout, o.Timeout)
	case o.SyncInterval < time.Millisecond:
		return nil, fmt.Errorf("redisretry: New: Options.SyncInterval must be at least 1ms, got %v", o.SyncInterval)
	case o.Expire < 10*o.SyncInterval:
		return nil, fmt.Errorf("redisretry: New: Options.Expire (%v) must be at least 10 × SyncInterval (%v)", o.Expire, o.SyncInterval)
	}
	f := &Fleet{
		client: c, prefix: o.Prefix, timeout: o.Timeout, start: o.StartTimeout, interval: o.SyncInterval, expire: o.Expire,
		observer: o.Observer, names: map[string]bool{},
		jobs: make(chan *job), kick: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{}),
	}
	go f.run()
	return f, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// Close stops the fleet's goroutine, after one last exchange per limit
// that sends what it gathered (deposits, counts), each bounded by Timeout.
// The limits stay usable: from then on each decides alone, as when Redis
// is unreachable, without Sharing events. Close returns the last
// exchanges' first error; later calls return nil. Close waits for an
// exchange under way: with a client that does not let contexts bound its
// reads (go-redis's default, ContextTimeoutEnabled false), a stalled Redis
// can hold it for the client's ReadTimeout; calls never wait for that.
func (f *Fleet) Close() error {
	var err error
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closed = true
		members := f.members
		f.mu.Unlock()
		close(f.closing)
		<-f.done
		for _, m := range members {
			h := m.health()
			if !h.local() {
				if _, e := f.syncOne(m, []member{m}); e != nil && err == nil {
					err = fmt.Errorf("redisretry: Close: %s %q: %w", h.kind, h.name, e)
				}
			}
			h.retire()
		}
	})
	return err
}

// Sync makes every limit's exchange with Redis now, instead of at the
// next SyncInterval, and returns the first error. It waits for the fleet's
// goroutine, at most until ctx is done.
func (f *Fleet) Sync(ctx context.Context) error {
	var err error
	j := &job{do: func(context.Context) { err = f.syncAll() }, done: make(chan struct{})}
	select {
	case f.jobs <- j:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-f.closing:
		return errors.New("redisretry: Sync: the fleet is closed")
	}
	select {
	case <-j.done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// add registers m under kind and name, unless the fleet is closed or
// already has that limit.
func (f *Fleet) add(kind, name string, m member) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return fmt.Errorf("redisretry: %s %q: the fleet is closed", kind, name)
	case f.names[kind+" "+name]:
		return fmt.Errorf("redisretry: the fleet already has a %s named %q: share that one", kind, name)
	}
	f.names[kind+" "+name] = true
	f.members = append(f.members, m)
	return nil
}

// check makes m's first exchange, within StartTimeout, for a limit m just
// added: an error of the script's own (the key holds something else)
// removes m and is returned; any other failure makes m decide alone.
func (f *Fleet) check(m member) error {
	var err error
	j := &job{do: func(ctx context.Context) { _, err = m.sync(ctx) }, first: true}
	switch {
	case !f.ask(j):
		m.health().down(errLate(f.start))
	case err != nil && isOurs(err):
		h := m.health()
		f.remove(h.kind, h.name, m)
		return err
	case err != nil:
		m.health().down(err)
	}
	return nil
}

// remove unregisters m, which add registered.
func (f *Fleet) remove(kind, name string, m member) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.names, kind+" "+name)
	for i := range f.members {
		if f.members[i] == m {
			f.members = append(f.members[:i:i], f.members[i+1:]...)
			break
		}
	}
}

// isClosed reports whether Close was called.
func (f *Fleet) isClosed() bool {
	select {
	case <-f.closing:
		return true
	default:
		return false
	}
}

// report delivers a Sharing event.
func (f *Fleet) report(e retry.SharingInfo) {
	if f.observer != nil && f.observer.Sharing != nil {
		f.observer.Sharing(context.Background(), e)
	}
}
