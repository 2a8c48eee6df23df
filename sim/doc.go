// Package sim simulates a fleet of clients retrying with a real
// [retry.Policy] against a dependency that fails, in virtual time, and
// reports what the dependency sees: offered and served load over time,
// amplification (attempts per first try), goodput, the clients' success rate
// and latency, the herd at recovery, the time to recover (or that it did
// not), and the budget's tokens and breakers' states over time.
//
// Every decision a client takes is the library's own: the simulator calls
// the policy's decision engine ([retry.Policy.Begin], [retry.Policy.Failed]
// and [retry.Policy.Succeeded]) at virtual instants, so the strategy, cap,
// jitter, classification, Retry-After hints, attempt and elapsed limits,
// budget and breaker are exactly those a program using the policy with
// [retry.Do] gets. Nothing sleeps and nothing reads the clock: a run of
// minutes of virtual time takes a fraction of a second, one event at a
// time on one goroutine.
//
// # Scenarios
//
//   - [OCC]: Brooker's 2015 contention benchmark, the calibration; its
//     published table is reproduced within 5%.
//   - [Open]: open-loop load on a queueing server whose capacity a [Trigger]
//     takes away for a while (a stall, a slow-down, or instant 503s); timed
//     out requests still cost the server their work, so retries can keep it
//     overloaded after the trigger ends: a metastable failure. [Metastable]
//     is the standard case.
//   - [Herd]: clients that failed together during an outage meet a server
//     admitting a fixed rate: jitter and Retry-After decide the herd.
//   - [Layers]: services retrying on top of each other multiply attempts,
//     A^L.
//   - [Sweep]: Open over trigger magnitude × length, the map of where a
//     policy recovers and where it stays down.
//   - [Tail]: Dean and Barroso's latency tail: user requests fanning out
//     to many calls with a heavy-tailed service time, hedged ([Hedge]) at
//     a fixed or an adaptive delay, each hedge admitted by the policy's
//     attempt limit, budget and breaker as a retry; and a brownout, in
//     which hedges without a budget double the load.
//
// A [Fleet] gives the clients their policy and, per client, their own
// budget and breaker (a budget or breaker inside the policy is shared by
// the whole fleet instead).
//
// # Outputs
//
// [WriteTable] for people at a terminal, [WriteCSV] and [WriteJSON] for
// tools, [WriteSVG] and [WriteSweepSVG] for charts to open in a browser;
// [WriteTailTable], [WriteTailCSV] and [WriteTailSVG] for Tail runs.
// The same seed gives the same output, byte for byte.
//
// # Cost
//
// Memory is bounded by what a run holds at once, never by the number of
// requests it simulates: its clients (at most [MaxClients]), its server's
// queue (at most [MaxQueue]), the events it has scheduled, one at least per
// request in flight (at most [MaxPending]), and its time buckets (at most
// [MaxBuckets]). A scenario asking for more is refused with a [*FieldError]
// naming the field, before anything is allocated; so is one whose caller
// requests alone exceed its event limit. A run whose work in flight
// outgrows MaxPending, or that processes more events than its limit
// (MaxEvents, [DefaultMaxEvents]), stops with a [*LimitError] instead of
// exhausting the memory or running for hours. At the bounds a run holds a
// few hundred megabytes (550 MB measured for a Layers run stopped at
// MaxPending, the largest of the bounds).
//
// Virtual time never overflows: every duration that places an event is at
// most [MaxSpan], and a policy's wait that would end beyond about 146 years
// of virtual time is never reached.
//
// # Model limits
//
// The server is FIFO with deterministic service times and free rejections;
// the network is a fixed or normally distributed delay. The figures are
// those of this model, not measurements of a real system; the anchors the
// tests reproduce are Brooker's simulated table, Google SRE's and gRPC's
// arithmetic, and the metastability results of the model itself.
//
// # Budgets and Google SRE's 10%
//
// The library's budgets refill per success (BudgetConfig.PerSuccess) or
// per second (PerSecond), never per request. Google SRE's "retries at most
// 10% of requests" can be read two ways: retries ≤ 10% of all attempts
// (at most 1.11× the load) or ≤ 10% of caller requests (1.1×). PerSuccess
// 0.1 is neither: it lends retries against successes, so in a hard outage,
// where nothing succeeds, a client makes only its burst of retries (the
// Capacity) and the load tends to 1×. The second reading, 1.1×, is a
// PerSecond of 0.1 times the client's request rate, which the caller has to
// know: the tests check that it gives 1 + 0.1 + burst·N/(λT) in an outage
// of T seconds, and 1.10 in one of 300 s.
//
// # Observation
//
// The clients' own budgets and breakers are observed at the end of every
// time bucket, at that virtual instant: tokens with [retry.Budget.TokensAt]
// (time refill included) and states with [retry.Breaker.StateAt], neither
// of which changes what it observes. StateAt is used rather than
// BreakerConfig.OnStateChange, which hears of Open → HalfOpen only when the
// next attempt asks; a breaker counts as open while it is not closed.
// Attempts the simulator times out reach the policy wrapped in
// [retry.TimedOut], so that a budget charges them TimeoutCost.
package sim
