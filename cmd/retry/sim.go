package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
	"time"

	"github.com/retrykit/retry/sim"
)

const simSynopsis = "usage: retry sim [flags]"

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
	return reportSim(stderr, err)
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
	case "tail":
		return c.runTail(stdout, fleets, labels)
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
		return &sim.FieldError{Field: "Layers.Gap", Problem: fmt.Sprintf("must be a positive number of requests per second, got %v", o.Rate)}
	}
	// The gap between requests, as a float first: at a tiny rate it is
	// beyond a Duration.
	gap := float64(time.Second) / o.Rate
	if span := float64(c.requests-1) / o.Rate; span > sim.MaxSpan.Seconds() {
		return &sim.FieldError{Field: "Layers.Gap", Problem: fmt.Sprintf("%g spreads %d caller requests over %.3gs, more than a run spans (%v): lower -requests or raise -rate",
			o.Rate, c.requests, span, sim.MaxSpan)}
	}
	var rs []sim.LayersResult
	for _, f := range fleets {
		r, err := sim.Layers{Depth: c.layers, Requests: c.requests, Gap: time.Duration(min(gap, float64(sim.MaxSpan))), Hop: o.Hop,
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
