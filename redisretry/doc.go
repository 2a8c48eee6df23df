// Package redisretry shares retry budgets and circuit breakers among the
// processes of a fleet, through Redis, so that the limits protect a
// dependency from what the whole fleet does rather than from each process
// alone.
//
// A thousand processes with a budget of 10 retries each can send 10,000
// retries into an outage; one budget of 10 shared by all of them sends
// about 10. [Fleet.Budget] returns a [retry.Budget] to pass to
// [retry.WithBudget] like any other: retry.Do, the engine ([retry.Policy]
// Begin, Failed, Succeeded) and every adapter (httpx, dbx, grpcx) use it
// unchanged.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}, ContextTimeoutEnabled: true})
//	fleet, err := redisretry.New(client, redisretry.Options{Prefix: "checkout"})
//	...
//	defer fleet.Close()
//	budget, err := fleet.Budget("payments", retry.BudgetConfig{Capacity: 100, PerSuccess: 0.1})
//	...
//	policy, err := retry.NewPolicy(retry.WithBudget(budget))
//
// # What is shared, and what it costs
//
// The budget's rules (BudgetConfig: capacity, deposit per success, refill
// per second, costs, threshold) apply to one bucket in Redis, changed only
// by a server-side script, atomically. Each process holds a lease of it: a
// [retry.Budget] of at most [Lease] tokens (default: a tenth of the
// capacity, at least the cost of one retry). A retry is paid from the
// lease; when the lease cannot pay, the process draws up to a full lease
// from Redis in one round trip, and the retry waits for it. Deposits of
// successful calls fill the lease, and what does not fit goes back to
// Redis at the next exchange (every SyncInterval). So a successful call
// never talks to Redis, and a retry rarely does: once per lease. A process
// that found the shared bucket dry does not ask again before its next
// exchange says it holds tokens.
//
// # The overshoot bound
//
// At any instant Redis holds at most Capacity and each of P processes at
// most Lease, so from any instant t on the fleet makes at most
//
//	(Capacity − Threshold + P × Lease + D + R) / cost
//
// retries, where D is what the fleet deposits from one SyncInterval before
// t on (deposits reach Redis at the next exchange) and R the refill
// (PerSecond) after t; a single shared bucket would allow the same without
// P × Lease. P × Lease is the overshoot: with 20 processes, Capacity 100
// and the default lease of 10, the fleet can retry 300 times where one
// bucket would allow 100; with Lease(1), 120. A smaller lease costs more
// round trips under failures; `retry sim -budget
// fleet:BUDGET+processes=P+lease=L` shows what a lease does to an outage
// before you choose.
//
// Tokens drawn by a process that stops are lost with it, as are deposits
// still waiting for an exchange when it is killed ([Fleet.Close] sends
// them): the fleet then holds fewer tokens, never more.
//
// # The shared breaker
//
// [Fleet.Breaker] returns a [retry.Breaker] for [retry.WithBreaker]. Each
// process's breaker counts its own attempts, as any retry.Breaker does; at
// every exchange the process sends what its rules look at (its failures in
// a row, and the failures and attempts of its failure-rate window), and
// the script applies the rules to the sums over the processes heard from
// within the last three exchanges.
//
// The consecutive rule adds up runs: each process sends its failures since
// its own last success, and the fleet opens when the runs last sent add up
// to FailureThreshold. A success resets the run of the process that made
// it, never another's: a successful call sends nothing (that is what
// keeps it free), so the fleet cannot place it among the other processes'
// failures. Hence FailureThreshold failures in a row across the fleet, with
// no success anywhere between them, always open it, as they would open one
// retry.Breaker that saw every attempt; and runs also add up across a
// success made elsewhere, which that one breaker would have taken as the
// end of the run: with FailureThreshold 4, two failures in one process,
// then a success and two failures in another, open the fleet's breaker.
// The failure-rate rule divides the fleet's failures by the fleet's
// attempts (the windows added up), once they reach MinimumCalls.
//
// A trip opens the breaker in every process at its next exchange. A
// process whose own rules trip its breaker sends it at once, and the fleet
// opens too. For the consecutive rule that changes nothing (a process's
// run is part of the sum); for the failure-rate rule it means that one
// process whose own window reaches MinimumCalls at the failure rate opens
// the fleet's breaker, even while the fleet's rate is below it.
//
// So an open state reaches every process within 2 × (SyncInterval +
// Timeout) of the failure that crossed a rule (one exchange carries the
// count, the next the state), and within SyncInterval + 2 × Timeout of a
// process's own trip. When the open time is up (RecoveryTimeout, lengthened
// and jittered after failed probes as MaxRecoveryTimeout says, computed in
// the script), the fleet names one process to probe: its breaker turns
// half-open and runs HalfOpenProbes probes, the other processes' stay open.
// Its probes' successes close the breaker for the fleet, a failure opens
// it again. The process named keeps the role for a lease of
// 3 × (SyncInterval + Timeout), renewed by each of its exchanges while it
// has probes in flight, however slow they are; a process named that
// starts no probe within its lease (it has no traffic, or died), or whose
// probes ended without closing or reopening the breaker (HalfOpenProbes
// above 1, and not enough traffic), is replaced by the next. A
// breaker exchanges every SyncInterval, whatever its traffic: that is how
// it learns the fleet opened (a process that makes few calls may want a
// longer SyncInterval). OnStateChange sees every change, the fleet's
// included.
//
// # When Redis fails
//
// Every exchange has a deadline, Options.Timeout (default 50ms), kept by
// the fleet whether or not the client lets contexts bound its reads: once
// an exchange has run for Timeout, every limit of the fleet decides alone,
// even while the client goes on waiting for the reply (a client without
// ContextTimeoutEnabled waits for its ReadTimeout, 3s by default, and
// holds the fleet's goroutine meanwhile: set ContextTimeoutEnabled so that
// Timeout frees it too). When Redis does not answer in time, is unreachable, or answers
// with an error (including a key that holds something else), the limit
// decides alone: a process's retries draw on a budget of its own
// ([Fallback], by default the shared configuration), as if it had no
// fleet, its breaker applies its rules to its own attempts alone (a
// breaker held open by the fleet turns half-open by itself three exchanges
// after the fleet's open time), and the Observer's Sharing hook says so
// ([retry.SharingInfo]: Shared false, and why). A call waits at most one
// Timeout for that: the retry that found Redis gone is decided by the
// process's own budget, and so are the next ones, without asking Redis.
// The first exchange of a limit, which [Fleet.Budget] and [Fleet.Breaker]
// wait for, may connect, make the handshake and load a script: its
// deadline is Options.StartTimeout (default the larger of 1s and Timeout),
// so that processes started together on a loaded machine do not all report
// that they decide alone; one that runs past it does. While it runs, the
// fleet's other limits make no exchange and report nothing, and a retry of
// theirs that needs Redis draws on the process's own budget after Timeout,
// without an event.
// Every SyncInterval the fleet tries again; the first timely answer makes
// the limit share again, with a Sharing event (Shared true). No call ever
// fails because of Redis: the limits only grant or refuse retries. Alert
// on Sharing events: while a limit decides alone, the fleet's limit is the
// processes' added up.
//
// # Keys
//
// A limit lives in one hash, "<Prefix>:{<name>}:budget" or
// "<Prefix>:{<name>}:breaker", whose name is its
// Cluster hash tag: one node serves each limit, and limits spread over the
// nodes. The hash records the configuration it was made with; a process
// that asks for the same name with another configuration, or finds a key
// that is not a limit of ours (another type, other fields, garbage
// values), gets an error from [Fleet.Budget] or [Fleet.Breaker], or falls back if that
// happens later, and never changes a key that is not ours. Every exchange
// renews the key's expiry (Options.Expire, default 10 minutes): the state
// of a limit nobody uses any more goes away by itself, and a limit that
// comes back starts full.
//
// # Goroutines
//
// A Fleet owns one goroutine, for all its limits: it makes the periodic
// exchanges and the draws retries ask for (a call never starts a
// goroutine). An exchange that runs past Timeout has its limits' Sharing
// events sent from a timer's goroutine, which ends before the exchange
// returns. [Fleet.Close] stops the fleet's goroutine after a last
// exchange; nothing the fleet started outlives it.
package redisretry
