package sim

import "time"

// Result is what a dependency saw during one run of an [Open] or [Herd]
// scenario: a summary and, bucket by bucket, the load over time. It is the
// value the CSV, JSON, table and SVG outputs are written from.
type Result struct {
	Scenario string   `json:"scenario"` // "open", "herd", ...
	Label    string   `json:"label"`    // what the run shows, for tables and charts (the policy, usually)
	Seed     uint64   `json:"seed"`
	Summary  Summary  `json:"summary"`
	Series   []Sample `json:"series"`
}

// Summary is a run's totals. Rates are per second of virtual time; times
// are in seconds unless the name says otherwise.
type Summary struct {
	Clients   int   `json:"clients"`   // clients of the fleet
	Logical   int64 `json:"logical"`   // caller requests that arrived
	FirstTry  int64 `json:"first_try"` // first attempts sent (a breaker can refuse one)
	Attempts  int64 `json:"attempts"`  // attempts that reached the server, rejected ones included
	Served    int64 `json:"served"`    // attempts the server did the work of
	Wasted    int64 `json:"wasted"`    // of those, served after their client had given up on them
	Succeeded int64 `json:"succeeded"` // caller requests that succeeded
	Failed    int64 `json:"failed"`    // caller requests whose policy gave up
	InFlight  int64 `json:"in_flight"` // caller requests still running at the horizon
	Refused   int64 `json:"refused"`   // retries the clients' own budgets refused (Fleet.Budget)
	Events    int64 `json:"events"`    // events processed

	// Amplification is Attempts / FirstTry: the load multiplier of retries.
	Amplification float64 `json:"amplification"`
	// AmplificationPeak is the largest attempts / first tries of one bucket.
	AmplificationPeak float64 `json:"amplification_peak"`
	// AmplificationTrigger is attempts reaching the server during the
	// trigger divided by caller requests arriving during it.
	AmplificationTrigger float64 `json:"amplification_trigger"`

	Goodput         float64 `json:"goodput"`          // successful caller requests per second, whole run
	BaselineGoodput float64 `json:"baseline_goodput"` // before the trigger
	SuccessRate     float64 `json:"success_rate"`     // Succeeded / (Succeeded + Failed)
	LatencyP50      float64 `json:"latency_p50_ms"`   // of successful caller requests, ms
	LatencyP90      float64 `json:"latency_p90_ms"`
	LatencyP99      float64 `json:"latency_p99_ms"`
	// OutcomeP50, P90 and P99 are the time to the outcome of every caller
	// request that ended, succeeded or failed (the policy gave up, the
	// budget or breaker refused), in ms: what a caller waited for an answer.
	OutcomeP50 float64 `json:"outcome_p50_ms"`
	OutcomeP90 float64 `json:"outcome_p90_ms"`
	OutcomeP99 float64 `json:"outcome_p99_ms"`

	// HerdPeak is the most attempts reaching the server in any 100 ms
	// after the trigger ended.
	HerdPeak int64 `json:"herd_peak"`
	// HerdPeak10ms is the same in any 10 ms, the resolution of Brooker's
	// herd figures.
	HerdPeak10ms int64 `json:"herd_peak_10ms"`
	// Recovered reports whether, within the horizon, the caller requests
	// came back to succeeding on their first attempt: RecoverySeconds is
	// the time from the trigger's end to the start of the first 5 s in
	// which, bucket by bucket (buckets of Bucket aligned at the trigger's
	// end), at least 99% of the requests arriving succeeded on their first
	// attempt; -1 if it did not recover. (For Herd, the time until the
	// last client still trying at the outage's end succeeded.)
	Recovered       bool    `json:"recovered"`
	RecoverySeconds float64 `json:"recovery_s"`
	// NothingToRecover reports that the run had nothing to measure a
	// recovery on: for Open, no caller request arrived after the trigger;
	// for Herd, every client gave up during the outage (no attempt reached
	// the server after it). Recovered is then false, RecoverySeconds -1,
	// and the outputs say n/a rather than "did not recover".
	NothingToRecover bool `json:"nothing_to_recover"`
	// TriggerEnd is when the trigger ended and Horizon how long the run
	// simulated, in seconds from its start.
	TriggerEnd    float64 `json:"trigger_end_s"`
	TriggerLength float64 `json:"trigger_length_s"`
	Horizon       float64 `json:"horizon_s"`
	// Bucket is the width of the series' buckets, in seconds: Sample.T is
	// a bucket's start, and its rates are averages over it.
	Bucket float64 `json:"bucket_s"`
}

// Sample is one bucket of a run's time series; the rates are per second.
type Sample struct {
	T            float64 `json:"t"`             // start of the bucket, seconds
	Offered      float64 `json:"offered"`       // attempts reaching the server
	FirstTry     float64 `json:"first_try"`     // of those, first attempts
	Served       float64 `json:"served"`        // attempts the server did the work of
	Goodput      float64 `json:"goodput"`       // caller requests that succeeded
	Failed       float64 `json:"failed"`        // caller requests whose policy gave up
	Queue        int     `json:"queue"`         // server queue length at the bucket's end
	Tokens       float64 `json:"tokens"`        // tokens of the clients' own budgets at the bucket's end, time refill included (all clients' summed); -1 when they have none (Fleet.Budget nil)
	BreakersOpen int     `json:"breakers_open"` // clients whose own breaker is not closed (open, or half-open once its recovery timeout has passed) at the bucket's end
}

// seconds converts virtual nanoseconds to seconds.
func seconds(ns int64) float64 { return float64(ns) / float64(time.Second) }
