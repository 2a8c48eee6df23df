package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/retrykit/retry/sim"
)

// Scenarios accepted by retry sim -scenario.
var simScenarios = []string{"open", "herd", "occ", "layers", "sweep", "tail"}

// Output formats accepted by retry sim -format.
var simFormats = []string{"table", "csv", "json"}

// simConfig is the parsed command line of retry sim.
type simConfig struct {
	policy   *config  // the policy flags, the same as retry's
	budgets  []string // -budget, one run per entry
	breaker  string
	scenario string
	open     sim.Open
	trigger  string
	layers   int
	requests int
	failRate float64
	trials   int
	burst    float64
	format   string
	svg      string
	mags     []float64
	lengths  []time.Duration
	// -scenario tail
	tail        sim.Tail
	hedges      []string
	maxInFlight int
}

// defaultSimConfig returns the configuration before any flag: the
// library's default policy and the metastability scenario.
func defaultSimConfig() *simConfig {
	return &simConfig{policy: defaultConfig(false), budgets: []string{"none"}, breaker: "none",
		scenario: "open", open: sim.Metastable(), trigger: "stall", layers: 3, requests: 700, failRate: 1,
		trials: 100, burst: 10, format: "table",
		mags: []float64{0.25, 0.5, 0.75, 1}, lengths: []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second},
		tail: tailFlagDefaults(), hedges: []string{"none", "5ms", "p95"}}
}

// tailFlagDefaults is the scenario -scenario tail's own flags start from:
// sim.LatencyTail, and sim.Brownout's slowdown for when -outage is set.
func tailFlagDefaults() sim.Tail {
	t := sim.LatencyTail()
	t.Slowdown = sim.Brownout().Slowdown
	return t
}

// newSimFlagSet declares retry sim's flags, bound to c's fields.
func newSimFlagSet(c *simConfig) *flag.FlagSet {
	o := &c.open
	p := c.policy
	fs := flag.NewFlagSet("retry sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Var(countValue{&p.attempts}, "attempts", "total `number` of attempts per caller request, the first included; 0 means no limit")
	fs.Var(choiceValue{&p.backoff, backoffKinds}, "backoff", "backoff `kind`: "+strings.Join(backoffKinds, ", "))
	fs.Var(durationValue{&p.delay}, "delay", "initial wait (a `duration`)")
	fs.Var(durationValue{&p.step}, "step", "for -backoff linear: growth per retry (a `duration`; default: -delay)")
	fs.Var(multiplierValue{&p.multiplier}, "multiplier", "for -backoff exponential: growth `factor`, >= 1")
	fs.Var(durationValue{&p.maxDelay}, "max-delay", "cap (a `duration`) on every wait; 0 means no cap")
	fs.Var(jitterValue{&p.jitter}, "jitter", "`mode`: none, full, equal, decorrelated, or proportional:F")
	fs.Var(listValue{&c.budgets}, "budget", "comma-separated retry `budgets`, one run each, side by side: none, ratio (10 tokens, +0.1 per success), grpc (ratio that keeps more than half the tokens: gRPC A6 throttling, 4 retries from full), aws (500 tokens, cost 5, 10 for a timeout, +1 per success: the AWS SDK's quota), fanout (100 tokens, +0.1 per success: ratio with a burst of a 100-call fan-out's worth, for -scenario tail), or fields joined by '+' such as capacity=10+per-success=0.1+per-second=0+cost=1+timeout-cost=1+threshold=5; every client has its own, unless the entry starts with shared: (one budget all clients draw on at once) or fleet: (the clients spread over processes=N, each leasing lease=TOKENS of one budget shared through a store, returning deposits every sync=DURATION, as redisretry does)")
	fs.StringVar(&c.breaker, "breaker", c.breaker, "circuit `breaker` of every client: none, default (5 failures in a row, 30s open, 1 probe), or failures=N+recovery=D+probes=P")
	fs.Var(choiceValue{&c.scenario, simScenarios}, "scenario", "`scenario`: "+strings.Join(simScenarios, ", "))
	fs.Var(wholeValue[int]{&o.Clients}, "clients", fmt.Sprintf("simulated clients (`n`, 1 to %d; 1e5 is a number)", sim.MaxClients))
	fs.Float64Var(&o.Rate, "rate", o.Rate, "caller requests per second, whole fleet (`r`); for herd, the server's admission rate after the outage")
	fs.Var(wholeValue[int]{&o.Workers}, "workers", "server workers (`n`)")
	fs.DurationVar(&o.Service, "service", o.Service, "work per request per worker (`duration`)")
	fs.Var(wholeValue[int]{&o.Queue}, "queue", fmt.Sprintf("server queue bound (`n`, 0 to %d)", sim.MaxQueue))
	fs.DurationVar(&o.Hop, "hop", o.Hop, "one-way network time (`duration`)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "client attempt timeout (`duration`); 0 means none")
	fs.Var(choiceValue{&c.trigger, []string{"stall", "reject", "slow"}}, "trigger", "what goes wrong (`mode`): stall (workers pause), reject (instant 503s), slow (capacity loses -magnitude)")
	fs.Float64Var(&o.Trigger.Magnitude, "magnitude", 0, "for -trigger slow: fraction of capacity lost, in (0, 1]")
	fs.DurationVar(&o.Trigger.Start, "outage-start", o.Trigger.Start, "when the trigger starts (`duration` from the start)")
	fs.DurationVar(&o.Trigger.Length, "outage", o.Trigger.Length, "how long the trigger lasts (`duration`)")
	fs.DurationVar(&o.After, "after", 120*time.Second, "how long to simulate after the trigger (`duration`)")
	fs.DurationVar(&o.Bucket, "bucket", 0, "resolution of the time series (`duration`; default 1s, 100ms for herd)")
	fs.BoolVar(&o.Trigger.RetryAfter, "retry-after", false, "the server's 503s carry Retry-After hints (reject and herd)")
	fs.Var(wholeValue[int]{&c.layers}, "layers", fmt.Sprintf("for -scenario layers: retrying layers (`n`, 1 to %d)", sim.MaxLayers))
	fs.Var(wholeValue[int]{&c.requests}, "requests", "for -scenario layers and tail: caller (user) requests (`n`), arriving -rate per second")
	fs.Float64Var(&c.failRate, "fail-rate", c.failRate, "for -scenario layers: probability that the dependency fails an attempt (`p`)")
	fs.Var(wholeValue[int]{&c.trials}, "trials", "for -scenario occ: trials averaged (`n`)")
	fs.Float64Var(&c.burst, "burst", c.burst, "for -scenario herd: admission burst after the outage (`n`)")
	fs.Var(floatListValue{&c.mags}, "magnitudes", "for -scenario sweep: comma-separated fractions of capacity lost")
	fs.Var(durationListValue{&c.lengths}, "lengths", "for -scenario sweep: comma-separated trigger lengths")
	t := &c.tail
	fs.Var(listValue{&c.hedges}, "hedge", "for -scenario tail: comma-separated hedging `policies`, one run each (times every -budget): none, a fixed delay such as 5ms, or pQ, a delay at the Q-th percentile of the latencies of recent calls, such as p95")
	fs.Var(wholeValue[int]{&c.maxInFlight}, "max-in-flight", fmt.Sprintf("for -scenario tail: copies of a call in flight at once, the first included (`n`, 2 to %d; default 2)", sim.MaxCopies))
	fs.Var(wholeValue[int]{&t.FanOut}, "fan-out", fmt.Sprintf("for -scenario tail: calls per user request (`n`, 1 to %d)", sim.MaxFanOut))
	fs.DurationVar(&t.Median, "median", t.Median, "for -scenario tail: median service time of the lognormal body (`duration`)")
	fs.Float64Var(&t.Sigma, "sigma", t.Sigma, "for -scenario tail: shape of the lognormal body (`s`, 0 to 4)")
	fs.Float64Var(&t.Stragglers, "stragglers", t.Stragglers, "for -scenario tail: fraction of attempts that straggle (`p`)")
	fs.Float64Var(&t.SlowMin, "slow-min", t.SlowMin, "for -scenario tail: a straggler is at least this many times slower (`factor`)")
	fs.Float64Var(&t.SlowMax, "slow-max", t.SlowMax, "for -scenario tail: and at most this many (`factor`)")
	fs.Float64Var(&t.Slowdown, "slowdown", t.Slowdown, "for -scenario tail: during the brownout (-outage from -outage-start) every attempt takes this many times longer (`factor`)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random `seed`: the same seed gives the same output, byte for byte")
	fs.Var(wholeValue[int64]{&o.MaxEvents}, "max-events", fmt.Sprintf("stop a run after this many events (`n`; default %d)", sim.DefaultMaxEvents))
	fs.Var(simFormatValue{choiceValue{&c.format, simFormats}}, "format", "standard output `format`: table, csv or json (occ and layers: table or json); for a chart, -svg")
	fs.StringVar(&c.svg, "svg", "", "also draw the runs as an SVG chart in this `file` (open, herd, sweep and tail)")
	return fs
}

// simCommonFlags apply to every scenario: the policy, the fleet and the
// run's bounds.
var simCommonFlags = []string{"attempts", "backoff", "delay", "step", "multiplier", "max-delay", "jitter",
	"budget", "breaker", "scenario", "seed", "max-events"}

// simScenarioFlags are the flags each scenario reads beyond the common ones;
// setting any other is a usage error rather than a flag silently ignored.
var simScenarioFlags = map[string][]string{
	"open": {"clients", "rate", "workers", "service", "queue", "hop", "timeout", "trigger", "magnitude",
		"outage-start", "outage", "after", "bucket", "retry-after", "format", "svg"},
	"herd":   {"clients", "rate", "burst", "hop", "outage", "after", "bucket", "retry-after", "format", "svg"},
	"occ":    {"clients", "trials", "format"},
	"layers": {"layers", "requests", "rate", "hop", "fail-rate", "format"},
	"sweep": {"clients", "rate", "workers", "service", "queue", "hop", "timeout", "outage-start", "after", "bucket",
		"magnitudes", "lengths", "format", "svg"},
	"tail": {"requests", "rate", "workers", "hop", "fan-out", "median", "sigma", "stragglers", "slow-min", "slow-max",
		"hedge", "max-in-flight", "outage-start", "outage", "slowdown", "bucket", "format", "svg"},
}

// checkSimFlags reports the first flag set that the scenario does not read.
func checkSimFlags(scenario string, set map[string]bool) error {
	ok := map[string]bool{}
	for _, f := range append(simScenarioFlags[scenario], simCommonFlags...) {
		ok[f] = true
	}
	var bad []string
	for f := range set {
		if !ok[f] {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return usagef("-%s does not apply to -scenario %s (it reads -%s and the policy flags)", bad[0], scenario,
		strings.Join(simScenarioFlags[scenario], ", -"))
}

// parseSim parses the arguments after "sim".
func parseSim(args []string) (*simConfig, error) {
	c := defaultSimConfig()
	o, p := &c.open, c.policy
	fs := newSimFlagSet(c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usagef("arguments after the flags are not taken, got %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkSimFlags(c.scenario, set); err != nil {
		return nil, err
	}
	if err := p.check(set); err != nil {
		return nil, err
	}
	if (c.scenario == "occ" || c.scenario == "layers") && c.format == "csv" {
		return nil, usagef("-format csv does not apply to -scenario %s (table or json)", c.scenario)
	}
	mode, err := sim.ParseTriggerMode(c.trigger)
	if err != nil {
		return nil, usagef("-trigger: %v", err)
	}
	o.Trigger.Mode = mode
	if mode == sim.Slow && !set["magnitude"] {
		return nil, usagef("-trigger slow needs -magnitude, the fraction of capacity lost")
	}
	if set["magnitude"] && mode != sim.Slow {
		return nil, usagef("-magnitude applies only to -trigger slow")
	}
	if c.scenario == "herd" {
		c.herdDefaults(set)
	}
	if c.scenario == "tail" {
		if err := c.tailFlags(set); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// herdDefaults sets what -scenario herd takes unless told otherwise: 1000
// clients that keep retrying (-attempts 0) with waits capped at 5 s, a 4 s
// outage, 10 ms hops and a server admitting 1000 attempts per second after
// it. With the library's default of 4 attempts every client would give up
// during the outage, and there would be no herd to show; the outage is
// shorter than -max-delay so that -retry-after's hints are within the cap.
func (c *simConfig) herdDefaults(set map[string]bool) {
	defaults := []struct {
		flag string
		set  func()
	}{
		{"clients", func() { c.open.Clients = 1000 }},
		{"rate", func() { c.open.Rate = 1000 }},
		{"hop", func() { c.open.Hop = 10 * time.Millisecond }},
		{"outage", func() { c.open.Trigger.Length = 4 * time.Second }},
		{"attempts", func() { c.policy.attempts = 0 }},
		{"max-delay", func() { c.policy.maxDelay = 5 * time.Second }},
	}
	for _, d := range defaults {
		if !set[d.flag] {
			d.set()
		}
	}
}
