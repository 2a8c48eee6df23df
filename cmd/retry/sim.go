package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

const simSynopsis = "usage: retry sim [flags]"

// Scenarios accepted by retry sim -scenario.
var simScenarios = []string{"open", "herd", "occ", "layers", "sweep"}

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
}

// defaultSimConfig returns the configuration before any flag: the
// library's default policy and the metastability scenario.
func defaultSimConfig() *simConfig {
	return &simConfig{policy: defaultConfig(false), budgets: []string{"none"}, breaker: "none",
		scenario: "open", open: sim.Metastable(), trigger: "stall", layers: 3, requests: 700, failRate: 1,
		trials: 100, burst: 10, format: "table",
		mags: []float64{0.25, 0.5, 0.75, 1}, lengths: []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}}
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
	fs.Var(listValue{&c.budgets}, "budget", "comma-separated retry `budgets`, one run each, side by side: none, ratio (10 tokens, +0.1 per success), grpc (ratio that keeps more than half the tokens: gRPC A6 throttling, 4 retries from full), aws (500 tokens, cost 5, 10 for a timeout, +1 per success: the AWS SDK's quota), or fields joined by '+' such as capacity=10+per-success=0.1+per-second=0+cost=1+timeout-cost=1+threshold=5; every client has its own, unless the entry starts with shared: (one budget all clients draw on at once) or fleet: (the clients spread over processes=N, each leasing lease=TOKENS of one budget shared through a store, returning deposits every sync=DURATION, as redisretry does)")
	fs.StringVar(&c.breaker, "breaker", c.breaker, "circuit `breaker` of every client: none, default (5 failures in a row, 30s open, 1 probe), or failures=N+recovery=D+probes=P")
	fs.Var(choiceValue{&c.scenario, simScenarios}, "scenario", "`scenario`: "+strings.Join(simScenarios, ", "))
	fs.IntVar(&o.Clients, "clients", o.Clients, "simulated clients (`n`)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "caller requests per second, whole fleet (`r`); for herd, the server's admission rate after the outage")
	fs.IntVar(&o.Workers, "workers", o.Workers, "server workers (`n`)")
	fs.DurationVar(&o.Service, "service", o.Service, "work per request per worker (`duration`)")
	fs.IntVar(&o.Queue, "queue", o.Queue, "server queue bound (`n`)")
	fs.DurationVar(&o.Hop, "hop", o.Hop, "one-way network time (`duration`)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "client attempt timeout (`duration`); 0 means none")
	fs.Var(choiceValue{&c.trigger, []string{"stall", "reject", "slow"}}, "trigger", "what goes wrong (`mode`): stall (workers pause), reject (instant 503s), slow (capacity loses -magnitude)")
	fs.Float64Var(&o.Trigger.Magnitude, "magnitude", 0, "for -trigger slow: fraction of capacity lost, in (0, 1]")
	fs.DurationVar(&o.Trigger.Start, "outage-start", o.Trigger.Start, "when the trigger starts (`duration` from the start)")
	fs.DurationVar(&o.Trigger.Length, "outage", o.Trigger.Length, "how long the trigger lasts (`duration`)")
	fs.DurationVar(&o.After, "after", 120*time.Second, "how long to simulate after the trigger (`duration`)")
	fs.DurationVar(&o.Bucket, "bucket", 0, "resolution of the time series (`duration`; default 1s, 100ms for herd)")
	fs.BoolVar(&o.Trigger.RetryAfter, "retry-after", false, "the server's 503s carry Retry-After hints (reject and herd)")
	fs.IntVar(&c.layers, "layers", c.layers, fmt.Sprintf("for -scenario layers: retrying layers (`n`, 1 to %d)", sim.MaxLayers))
	fs.IntVar(&c.requests, "requests", c.requests, "for -scenario layers: caller requests (`n`), arriving -rate per second")
	fs.Float64Var(&c.failRate, "fail-rate", c.failRate, "for -scenario layers: probability that the dependency fails an attempt (`p`)")
	fs.IntVar(&c.trials, "trials", c.trials, "for -scenario occ: trials averaged (`n`)")
	fs.Float64Var(&c.burst, "burst", c.burst, "for -scenario herd: admission burst after the outage (`n`)")
	fs.Var(floatListValue{&c.mags}, "magnitudes", "for -scenario sweep: comma-separated fractions of capacity lost")
	fs.Var(durationListValue{&c.lengths}, "lengths", "for -scenario sweep: comma-separated trigger lengths")
	fs.Uint64Var(&o.Seed, "seed", 1, "random `seed`: the same seed gives the same output, byte for byte")
	fs.Int64Var(&o.MaxEvents, "max-events", 0, fmt.Sprintf("stop a run after this many events (`n`; default %d)", sim.DefaultMaxEvents))
	fs.Var(choiceValue{&c.format, simFormats}, "format", "standard output `format`: table, csv or json (occ and layers: table or json)")
	fs.StringVar(&c.svg, "svg", "", "also draw the runs as an SVG chart in this `file` (open, herd and sweep)")
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
		return nil, usagef("retry sim takes no arguments, got %q", fs.Args())
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
	if c.scenario == "herd" && !set["rate"] {
		o.Rate = 1000
	}
	if c.scenario == "herd" && !set["hop"] {
		o.Hop = 10 * time.Millisecond
	}
	if c.scenario == "herd" && !set["outage"] {
		o.Trigger.Length = 10 * time.Second
	}
	return c, nil
}

// fleets builds one fleet per -budget entry, with its label.
func (c *simConfig) fleets() ([]sim.Fleet, []string, error) {
	p, err := c.policy.policy()
	if err != nil {
		return nil, nil, err
	}
	br, err := parseBreaker(c.breaker)
	if err != nil {
		return nil, nil, usagef("-breaker: %v", err)
	}
	var fs []sim.Fleet
	var labels []string
	for _, b := range c.budgets {
		if f, ok, err := sharedFleet(b, p, br); ok {
			if err != nil {
				return nil, nil, usagef("-budget: %v", err)
			}
			fs = append(fs, f)
			labels = append(labels, "-budget "+b)
			continue
		}
		bc, err := parseBudget(b)
		if err != nil {
			return nil, nil, usagef("-budget: %v", err)
		}
		fs = append(fs, sim.Fleet{Policy: p, Budget: bc, Breaker: br})
		labels = append(labels, "-budget "+b)
	}
	return fs, labels, nil
}

// parseBudget reads one -budget entry.
func parseBudget(s string) (*retry.BudgetConfig, error) {
	switch s {
	case "none":
		return nil, nil
	case "ratio":
		return &retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1}, nil
	case "grpc":
		return &retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5 + 1e-6}, nil
	case "aws":
		return &retry.BudgetConfig{Capacity: 500, PerSuccess: 1, RetryCost: 5, TimeoutCost: 10}, nil
	}
	if !strings.Contains(s, "=") {
		return nil, fmt.Errorf("unknown budget preset %q (want none, ratio, grpc, aws, or fields such as capacity=10+per-success=0.1)", s)
	}
	var c retry.BudgetConfig
	fields := map[string]*float64{"capacity": &c.Capacity, "per-success": &c.PerSuccess, "per-second": &c.PerSecond,
		"cost": &c.RetryCost, "timeout-cost": &c.TimeoutCost, "threshold": &c.Threshold}
	if err := parseKeyValues(s, func(k, v string) error {
		dst, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown budget field %q in %q (want none, ratio, grpc, aws, or capacity=,per-success=,per-second=,cost=,timeout-cost=,threshold= joined by '+')", k, s)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("budget field %s=%q is not a finite number", k, v)
		}
		*dst = f
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := retry.NewBudget(c); err != nil {
		return nil, err
	}
	return &c, nil
}

// parseBreaker reads -breaker.
func parseBreaker(s string) (*retry.BreakerConfig, error) {
	switch s {
	case "none":
		return nil, nil
	case "default":
		return &retry.BreakerConfig{}, nil
	}
	var c retry.BreakerConfig
	if err := parseKeyValues(s, func(k, v string) error {
		var err error
		switch k {
		case "failures":
			c.FailureThreshold, err = strconv.Atoi(v)
		case "probes":
			c.HalfOpenProbes, err = strconv.Atoi(v)
		case "recovery":
			c.RecoveryTimeout, err = time.ParseDuration(v)
		default:
			return fmt.Errorf("unknown breaker field %q in %q (want none, default, or failures=N+recovery=D+probes=P)", k, s)
		}
		if err != nil {
			return fmt.Errorf("breaker field %s=%q: %v", k, v, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := retry.NewBreaker(c); err != nil {
		return nil, err
	}
	return &c, nil
}

// parseKeyValues calls set for each key=value of s, joined by '+'.
func parseKeyValues(s string, set func(k, v string) error) error {
	for kv := range strings.SplitSeq(s, "+") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value in %q", kv, s)
		}
		if err := set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// simFields maps the scenario fields the sim package names in its errors to
// the flags that set them.
var simFields = []struct{ field, flag string }{
	{"Open.Trigger.Start", "-outage-start"}, {"Open.Trigger.Length", "-outage"}, {"Open.Trigger.Magnitude", "-magnitude"},
	{"Open.Clients", "-clients"}, {"Open.Rate", "-rate"}, {"Open.Workers", "-workers"}, {"Open.Service", "-service"},
	{"Open.Queue", "-queue"}, {"Open.Hop", "-hop"}, {"Open.Timeout", "-timeout"}, {"Open.After", "-after"},
	{"Open.Bucket", "-bucket"}, {"Open.MaxEvents", "-max-events"},
	{"Herd.Clients", "-clients"}, {"Herd.Rate", "-rate"}, {"Herd.Burst", "-burst"}, {"Herd.Outage", "-outage"}, {"Herd.Hop", "-hop"},
	{"Herd.After", "-after"}, {"Herd.Bucket", "-bucket"}, {"Herd.MaxEvents", "-max-events"},
	{"OCC.Clients", "-clients"}, {"OCC.Trials", "-trials"}, {"OCC.MaxEvents", "-max-events"},
	{"Layers.Depth", "-layers"}, {"Layers.FailRate", "-fail-rate"}, {"Layers.Hop", "-hop"}, {"Layers.MaxEvents", "-max-events"},
	{"Layers.Trigger.Start", "-outage-start"}, {"Layers.Trigger.Length", "-outage"},
}

// flagOf returns "-flag: " for the flag behind a scenario error, or "".
func flagOf(err error) string {
	msg := err.Error()
	for _, f := range simFields {
		if strings.Contains(msg, f.field+" ") {
			return f.flag + ": "
		}
	}
	return ""
}

// runSim is retry sim: it parses args, runs the scenario once per budget
// and writes the results.
func runSim(args []string, stdout, stderr io.Writer) int {
	c, err := parseSim(args)
	if errors.Is(err, errHelp) {
		printSimHelp(stdout)
		return 0
	}
	if err == nil {
		err = c.run(stdout)
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "retry sim: %v\n%s\nRun 'retry sim -h' for the flags and their defaults.\n", ue, simSynopsis)
		return exitUsage
	case errors.Is(err, retry.ErrInvalidConfig):
		fmt.Fprintf(stderr, "retry sim: %s%v\n", flagOf(err), err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "retry sim: %v\n", err)
		return exitFailure
	}
	return 0
}

func (c *simConfig) run(stdout io.Writer) error {
	fleets, labels, err := c.fleets()
	if err != nil {
		return err
	}
	switch c.scenario {
	case "occ":
		return c.runOCC(stdout, fleets, labels)
	case "layers":
		return c.runLayers(stdout, fleets, labels)
	case "sweep":
		return c.runSweep(stdout, fleets, labels)
	}
	var rs []sim.Result
	for i, f := range fleets {
		var r sim.Result
		if c.scenario == "herd" {
			o := c.open
			r, err = sim.Herd{Clients: o.Clients, Outage: o.Trigger.Length, Rate: o.Rate, Burst: c.burst, Hop: o.Hop,
				RetryAfter: o.Trigger.RetryAfter, After: o.After, Bucket: o.Bucket, Seed: o.Seed, MaxEvents: o.MaxEvents}.Run(f)
		} else {
			r, err = c.open.Run(f)
		}
		if err != nil {
			return err
		}
		r.Label = labels[i]
		rs = append(rs, r)
	}
	if c.svg != "" {
		if err := writeFile(c.svg, func(w io.Writer) error { return sim.WriteSVG(w, rs...) }); err != nil {
			return err
		}
	}
	switch c.format {
	case "csv":
		return sim.WriteCSV(stdout, rs...)
	case "json":
		return sim.WriteJSON(stdout, rs)
	}
	return sim.WriteTable(stdout, rs...)
}

func (c *simConfig) runOCC(stdout io.Writer, fleets []sim.Fleet, labels []string) error {
	var rs []sim.OCCResult
	for _, f := range fleets {
		r, err := sim.OCC{Clients: c.open.Clients, Trials: c.trials, Seed: c.open.Seed, MaxEvents: c.open.MaxEvents}.Run(f)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	if c.format == "json" {
		return sim.WriteJSON(stdout, rs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tclients\ttrials\tcalls\ttime\tpeak per 10ms after 200ms\tgave up\t")
	for i, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%v\t%.1f\t%.1f\t\n", labels[i], r.Clients, r.Trials, r.Calls, r.Time.Round(time.Millisecond), r.Peak, r.GaveUp)
	}
	return tw.Flush()
}

func (c *simConfig) runLayers(stdout io.Writer, fleets []sim.Fleet, labels []string) error {
	o := c.open
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		return usagef("-rate: want caller requests per second > 0, got %v", o.Rate)
	}
	if c.requests <= 0 {
		return usagef("-requests: want a number of caller requests > 0, got %d", c.requests)
	}
	var rs []sim.LayersResult
	for _, f := range fleets {
		r, err := sim.Layers{Depth: c.layers, Requests: c.requests, Gap: time.Duration(float64(time.Second) / o.Rate), Hop: o.Hop,
			FailRate: c.failRate, Seed: o.Seed, MaxEvents: o.MaxEvents}.Run(f)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	if c.format == "json" {
		return sim.WriteJSON(stdout, rs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tlayers\trequests\tsucceeded\tattempts per layer (top first)\tamplification at the dependency\t")
	for i, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%v\t%.3f\t\n", labels[i], c.layers, r.Requests, r.Succeeded, r.Attempts, r.Amplification)
	}
	return tw.Flush()
}

func (c *simConfig) runSweep(stdout io.Writer, fleets []sim.Fleet, labels []string) error {
	var rs []sim.SweepResult
	for i, f := range fleets {
		r, err := sim.Sweep{Base: c.open, Magnitudes: c.mags, Lengths: c.lengths}.Run(f)
		if err != nil {
			return err
		}
		r.Label = labels[i]
		rs = append(rs, r)
	}
	if c.svg != "" {
		if err := writeFile(c.svg, func(w io.Writer) error { return sim.WriteSweepSVG(w, rs...) }); err != nil {
			return err
		}
	}
	switch c.format {
	case "json":
		return sim.WriteJSON(stdout, rs)
	case "csv":
		return sim.WriteSweepCSV(stdout, rs...)
	}
	return sim.WriteSweepTable(stdout, rs...)
}

// writeFile writes a file with write, reporting the first error.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// listValue is a flag.Value for a comma-separated list of words.
type listValue struct{ p *[]string }

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v listValue) Set(s string) error {
	parts := strings.Split(s, ",")
	for _, p := range parts {
		if p == "" {
			return errors.New("want a comma-separated list without empty entries")
		}
	}
	*v.p = parts
	return nil
}

// floatListValue is a flag.Value for comma-separated fractions in (0, 1].
type floatListValue struct{ p *[]float64 }

func (v floatListValue) String() string {
	if v.p == nil {
		return ""
	}
	var s []string
	for _, f := range *v.p {
		s = append(s, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strings.Join(s, ",")
}

func (v floatListValue) Set(s string) error {
	var fs []float64
	for p := range strings.SplitSeq(s, ",") {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return fmt.Errorf("want comma-separated fractions in (0, 1], such as 0.5,1; got %q", p)
		}
		fs = append(fs, f)
	}
	*v.p = fs
	return nil
}

// durationListValue is a flag.Value for comma-separated positive durations.
type durationListValue struct{ p *[]time.Duration }

func (v durationListValue) String() string {
	if v.p == nil {
		return ""
	}
	var s []string
	for _, d := range *v.p {
		s = append(s, d.String())
	}
	return strings.Join(s, ",")
}

func (v durationListValue) Set(s string) error {
	var ds []time.Duration
	for p := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(p)
		if err != nil || d <= 0 {
			return fmt.Errorf("want comma-separated durations > 0, such as 1s,5s,30s; got %q", p)
		}
		ds = append(ds, d)
	}
	*v.p = ds
	return nil
}

// printSimHelp writes retry sim -h.
func printSimHelp(w io.Writer) {
	fmt.Fprint(w, simSynopsis+`

Simulates a fleet of clients retrying with the policy the flags describe
(the library's real decisions, in virtual time) against a dependency that
fails, and reports what the dependency saw: offered and served load,
amplification, goodput, success rate, latency, the herd at recovery, and
the time to recover. Each -budget entry is one run; the runs are shown side
by side. The same -seed gives the same output, byte for byte.

Scenarios:
  open    open-loop load on a queueing server; the trigger stalls, slows
          or rejects it for -outage from -outage-start (metastability)
  herd    -clients clients fail together during -outage, then meet a
          server admitting -rate per second (jitter and Retry-After)
  occ     Brooker's 2015 contention benchmark (the calibration)
  layers  -layers layers retrying on top of each other (A^L): -requests
          caller requests arriving -rate per second
  sweep   open, over -magnitudes x -lengths of a slow trigger: where the
          policy recovers and where it stays down (-svg draws the map)

Flags:
`)
	fs := newSimFlagSet(defaultSimConfig())
	fs.SetOutput(w)
	fs.PrintDefaults()
}
