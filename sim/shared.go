package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/retrykit/retry"
)

// Shared is one budget shared by a fleet of processes through a store, as
// package redisretry shares one on Redis: the clients are spread over
// Processes processes (client i runs in process i mod Processes), each
// process holds a lease of at most Lease tokens of the shared budget
// (a [retry.Budget] with a [retry.BudgetSource]), draws a lease from the
// store when a retry finds its own dry, and returns the deposits its lease
// cannot hold ([retry.Budget.Surplus]) every Sync. A process whose draw was refused does not ask
// again before its next Sync. Draws take no time (a round trip is short
// beside the waits of a retry); deposits wait for their process's next
// Sync, the processes' Syncs spread evenly over the interval.
//
// The ideal it is measured against is one budget every client shares at
// once (Fleet.Policy with retry.WithBudget); one budget per client is
// Fleet.Budget.
type Shared struct {
	// Budget is the shared budget's configuration (Source must be nil).
	Budget retry.BudgetConfig
	// Processes is the number of processes, at least 1 and at most the
	// number of clients. Default 1.
	Processes int
	// Lease is the most tokens a process holds. Default: a tenth of the
	// capacity, at least the cost of one retry (redisretry's default).
	Lease float64
	// Sync is how often each process exchanges with the store. Default
	// 100ms (redisretry's default).
	Sync time.Duration
}

// pool is the shared budget in the store, in micro-tokens, on the
// simulator's clock, and the processes' exchanges with it.
type pool struct {
	capacity, threshold, rate, cheap float64
	tok                              float64
	at                               int64 // virtual ns of the last refill
	started                          bool
	sync                             int64
	procs                            []procState
}

type procState struct {
	lease *retry.Budget // its surplus goes to the store at each sync
	dry   bool          // the store refused a draw; no draw before the next sync
	next  int64         // virtual ns of the next sync
}

// leases returns the budgets of the processes of s, for n clients.
func (s Shared) leases(n int) ([]*retry.Budget, error) {
	c := s.Budget
	if c.Source != nil {
		return nil, fmt.Errorf("%w: sim: Fleet.Shared.Budget.Source is set", retry.ErrInvalidConfig)
	}
	if _, err := retry.NewBudget(c); err != nil {
		return nil, fmt.Errorf("sim: Fleet.Shared.Budget: %w", err)
	}
	procs := s.Processes
	if procs == 0 {
		procs = 1
	}
	if procs < 1 || procs > n {
		return nil, fmt.Errorf("%w: sim: Fleet.Shared.Processes must be in [1, clients (%d)], got %d", retry.ErrInvalidConfig, n, s.Processes)
	}
	sync := s.Sync
	if sync == 0 {
		sync = 100 * time.Millisecond
	}
	if sync < 0 {
		return nil, fmt.Errorf("%w: sim: Fleet.Shared.Sync must not be negative, got %v", retry.ErrInvalidConfig, s.Sync)
	}
	cost, timeout := c.RetryCost, c.TimeoutCost
	if cost == 0 {
		cost = 1
	}
	if timeout == 0 {
		timeout = cost
	}
	lease := s.Lease
	if lease == 0 {
		lease = math.Max(c.Capacity/10, math.Max(cost, timeout))
	}
	p := &pool{capacity: micro(c.Capacity), threshold: micro(c.Threshold), rate: micro(c.PerSecond),
		cheap: micro(math.Min(cost, timeout)), tok: micro(c.Capacity), sync: int64(sync), procs: make([]procState, procs)}
	for k := range p.procs {
		p.procs[k].next = int64(sync) * int64(k) / int64(procs)
	}
	bs := make([]*retry.Budget, procs)
	for k := range bs {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: lease, PerSuccess: c.PerSuccess, RetryCost: c.RetryCost,
			TimeoutCost: c.TimeoutCost, Source: &lender{p: p, k: k}})
		if err != nil {
			return nil, fmt.Errorf("sim: Fleet.Shared.Lease %v: %w", lease, err)
		}
		bs[k] = b
		p.procs[k].lease = b
	}
	return bs, nil
}

func micro(v float64) float64 { return math.Round(v * 1e6) }

// refill credits the time refill up to virtual instant t.
func (p *pool) refill(t int64) {
	if !p.started {
		p.at, p.started = t, true
	}
	if p.rate > 0 && t > p.at {
		p.tok = math.Min(p.capacity, p.tok+float64(t-p.at)*p.rate/1e9)
	}
	p.at = max(p.at, t)
}

// advance makes every sync due by virtual instant t: each process's
// surplus (the deposits its lease could not hold) goes to the store, and
// it learns whether it may draw. A surplus is taken at the first sync
// after the draw before it (the simulator learns the time at draws), so
// deposits can reach the store up to one Sync early.
func (p *pool) advance(t int64) {
	for k := range p.procs {
		ps := &p.procs[k]
		for ps.next <= t {
			p.refill(ps.next)
			p.tok = math.Min(p.capacity, p.tok+micro(ps.lease.Surplus()))
			ps.dry = p.tok-p.cheap < p.threshold
			ps.next += p.sync
		}
	}
}

// lender is one process's side of the pool: the source of its lease.
type lender struct {
	p *pool
	k int
}

func (l *lender) Draw(now time.Time, need, room float64) float64 {
	t := int64(now.Sub(epoch))
	p := l.p
	p.advance(t)
	ps := &p.procs[l.k]
	if ps.dry {
		return 0
	}
	p.refill(t)
	n := micro(need)
	if p.tok-n < p.threshold {
		ps.dry = true
		return 0
	}
	lent := math.Floor(math.Min(micro(room), p.tok-p.threshold))
	p.tok -= lent
	return lent / 1e6
}
