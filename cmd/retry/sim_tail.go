package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/retrykit/retry/sim"
)

// parseHedge reads one -hedge entry: none, a fixed delay (5ms), or pQ, an
// adaptive delay at the Q-th percentile of recent latencies (p95, p99.9).
// Its errors say what is wrong with the entry in the words of -hedge.
func parseHedge(s string, maxInFlight int) (sim.Hedge, error) {
	h := sim.Hedge{MaxInFlight: maxInFlight}
	switch {
	case s == "none":
		return sim.Hedge{}, nil
	case strings.HasPrefix(s, "p"):
		q, err := strconv.ParseFloat(s[1:], 64)
		if err != nil || math.IsNaN(q) || !(q > 0 && q < 100) {
			return sim.Hedge{}, fmt.Errorf("want a percentile in (0, 100) after p, such as p95 or p99.9; got %q", s)
		}
		h.Quantile = q / 100
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > sim.MaxSpan {
			return sim.Hedge{}, fmt.Errorf("want none, a delay in (0, %v] such as 5ms, or a percentile such as p95; got %q", sim.MaxSpan, s)
		}
		h.Delay = d
	}
	return h, nil
}

// tailFlags gives -scenario tail the flags it shares with the other
// scenarios (-rate, -workers, -hop, -requests, -outage-start, -outage,
// -bucket, -seed, -max-events) where they are set, keeps sim.LatencyTail's
// values where they are not (and a brownout, if -outage asks for one, from
// 40s), and checks the -hedge entries.
func (c *simConfig) tailFlags(set map[string]bool) error {
	t, o := &c.tail, &c.open
	shared := []struct {
		flag  string
		apply func()
	}{
		{"rate", func() { t.Rate = o.Rate }},
		{"workers", func() { t.Workers = o.Workers }},
		{"hop", func() { t.Hop = o.Hop }},
		{"requests", func() { t.Requests = c.requests }},
		{"outage-start", func() { t.BrownoutStart = o.Trigger.Start }},
		{"outage", func() { t.BrownoutLength = o.Trigger.Length }},
	}
	t.BrownoutStart = 40 * time.Second
	for _, f := range shared {
		if set[f.flag] {
			f.apply()
		}
	}
	t.Bucket, t.Seed, t.MaxEvents = o.Bucket, o.Seed, o.MaxEvents
	return checkHedges(c.hedges, c.maxInFlight)
}

// runTail runs -scenario tail: every -hedge entry with every -budget
// entry, side by side.
func (c *simConfig) runTail(stdout io.Writer, fleets []sim.Fleet, labels []string) error {
	if len(c.hedges)*len(fleets) > 64 {
		return usagef("-hedge and -budget make %d runs, more than 64", len(c.hedges)*len(fleets))
	}
	var rs []sim.TailResult
	for _, e := range c.hedges {
		h, err := parseHedge(e, c.maxInFlight)
		if err != nil {
			return usagef("-hedge %s: %v", e, err)
		}
		for i, f := range fleets {
			r, err := c.tail.Run(f, h)
			if err != nil {
				return err
			}
			r.Label = h.String() + ", " + strings.TrimPrefix(labels[i], "-")
			rs = append(rs, r)
		}
	}
	if c.svg != "" {
		if err := writeFile(c.svg, func(w io.Writer) error { return sim.WriteTailSVG(w, rs...) }); err != nil {
			return err
		}
	}
	switch c.format {
	case "json":
		return sim.WriteJSON(stdout, rs)
	case "csv":
		return sim.WriteTailCSV(stdout, rs...)
	}
	return sim.WriteTailTable(stdout, rs...)
}

// checkHedges reports the first -hedge entry that does not parse.
func checkHedges(hedges []string, maxInFlight int) error {
	for _, e := range hedges {
		if _, err := parseHedge(e, maxInFlight); err != nil {
			return usagef("-hedge %s: %v", e, err)
		}
	}
	if maxInFlight != 0 && (maxInFlight < 2 || maxInFlight > sim.MaxCopies) {
		return usagef("-max-in-flight must be in [2, %d], got %d", sim.MaxCopies, maxInFlight)
	}
	return nil
}
