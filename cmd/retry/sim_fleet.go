package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// fleets builds one fleet per -budget entry, with its label.
func (c *simConfig) fleets() ([]sim.Fleet, []string, error) {
	p, err := c.policy.policy()
	if err != nil {
		return nil, nil, err
	}
	br, err := parseBreaker(c.breaker)
	if err != nil {
		return nil, nil, usagef("-breaker %s: %v", c.breaker, err)
	}
	var fs []sim.Fleet
	var labels []string
	for _, b := range c.budgets {
		if f, ok, err := sharedFleet(b, p, br); ok {
			if err != nil {
				return nil, nil, usagef("-budget %s: %v", b, err)
			}
			fs = append(fs, f)
			labels = append(labels, "-budget "+b)
			continue
		}
		bc, err := parseBudget(b)
		if err != nil {
			return nil, nil, usagef("-budget %s: %v", b, err)
		}
		fs = append(fs, sim.Fleet{Policy: p, Budget: bc, Breaker: br})
		labels = append(labels, "-budget "+b)
	}
	return fs, labels, nil
}

// parseBudget reads one -budget entry. Its errors say what is wrong with
// the entry in the words of -budget.
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
	case "fanout":
		return &retry.BudgetConfig{Capacity: 100, PerSuccess: 0.1}, nil
	}
	if !strings.Contains(s, "=") {
		return nil, errors.New("unknown preset (want none, ratio, grpc, aws, fanout, or fields such as capacity=10+per-success=0.1)")
	}
	var c retry.BudgetConfig
	fields := map[string]*float64{"capacity": &c.Capacity, "per-success": &c.PerSuccess, "per-second": &c.PerSecond,
		"cost": &c.RetryCost, "timeout-cost": &c.TimeoutCost, "threshold": &c.Threshold}
	if err := parseKeyValues(s, func(k, v string) error {
		dst, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown field %q (want capacity=, per-success=, per-second=, cost=, timeout-cost= or threshold=, joined by '+')", k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s=%q is not a finite number", k, v)
		}
		*dst = f
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := retry.NewBudget(c); err != nil {
		return nil, errors.New(inKeys(err, "BudgetConfig", budgetKeys))
	}
	return &c, nil
}

// parseBreaker reads -breaker. Its errors say what is wrong with it in the
// words of -breaker.
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
		want := "a whole number"
		switch k {
		case "failures":
			c.FailureThreshold, err = strconv.Atoi(v)
		case "probes":
			c.HalfOpenProbes, err = strconv.Atoi(v)
		case "recovery":
			c.RecoveryTimeout, err = time.ParseDuration(v)
			want = "a duration, such as 30s"
		default:
			return fmt.Errorf("unknown field %q (want none, default, or failures=N+recovery=D+probes=P)", k)
		}
		if err != nil {
			return fmt.Errorf("%s=%q is not %s", k, v, want)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if _, err := retry.NewBreaker(c); err != nil {
		return nil, errors.New(inKeys(err, "BreakerConfig", breakerKeys))
	}
	return &c, nil
}

// parseKeyValues calls set for each key=value of s, joined by '+'.
func parseKeyValues(s string, set func(k, v string) error) error {
	for kv := range strings.SplitSeq(s, "+") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", kv)
		}
		if err := set(k, v); err != nil {
			return err
		}
	}
	return nil
}
