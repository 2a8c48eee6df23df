package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// The -budget entries that share one budget among the clients instead of
// giving each its own:
//
//	shared:BUDGET   one budget every client draws on at once (the ideal)
//	fleet:BUDGET    the clients spread over processes, each holding a lease
//	                of one budget shared through a store (redisretry's
//	                model); BUDGET may end with the fields processes=N,
//	                lease=TOKENS and sync=DURATION, joined by '+' as the
//	                budget's own: fleet:ratio+processes=20+lease=1
//
// sharedFleet builds the fleet of such an entry; ok is false for any other
// entry.
func sharedFleet(entry string, p *retry.Policy, br *retry.BreakerConfig) (f sim.Fleet, ok bool, err error) {
	kind, rest, found := strings.Cut(entry, ":")
	if !found || (kind != "shared" && kind != "fleet") {
		return sim.Fleet{}, false, nil
	}
	var sh sim.Shared
	var budget []string
	for _, part := range strings.Split(rest, "+") {
		k, v, _ := strings.Cut(part, "=")
		var err error
		switch {
		case kind == "fleet" && k == "processes":
			sh.Processes, err = strconv.Atoi(v)
			if err == nil && sh.Processes < 1 {
				err = fmt.Errorf("must be at least 1")
			}
		case kind == "fleet" && k == "lease":
			sh.Lease, err = strconv.ParseFloat(v, 64)
			if err == nil && !(sh.Lease > 0 && sh.Lease < 1e12) {
				err = fmt.Errorf("must be a number of tokens above 0")
			}
		case kind == "fleet" && k == "sync":
			sh.Sync, err = time.ParseDuration(v)
			if err == nil && sh.Sync <= 0 {
				err = fmt.Errorf("must be a duration above 0")
			}
		default:
			budget = append(budget, part)
			continue
		}
		if err != nil {
			return sim.Fleet{}, true, fmt.Errorf("%s field %s=%q: %v", kind, k, v, err)
		}
	}
	bc, err := parseBudget(strings.Join(budget, "+"))
	if err != nil {
		return sim.Fleet{}, true, fmt.Errorf("%s:%s: %w", kind, rest, err)
	}
	if bc == nil {
		return sim.Fleet{}, true, fmt.Errorf("%s:none shares no budget", kind)
	}
	if kind == "fleet" {
		sh.Budget = *bc
		return sim.Fleet{Policy: p, Shared: &sh, Breaker: br}, true, nil
	}
	b, err := retry.NewBudget(*bc)
	if err != nil {
		return sim.Fleet{}, true, err
	}
	if p, err = p.With(retry.WithBudget(b)); err != nil {
		return sim.Fleet{}, true, err
	}
	return sim.Fleet{Policy: p, Breaker: br}, true, nil
}
