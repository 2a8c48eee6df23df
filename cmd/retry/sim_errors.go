package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// simFlags maps the scenario fields that the sim package's errors name
// (sim.FieldError.Field) to the flags that set them.
var simFlags = map[string]string{
	"Open.Clients": "-clients", "Open.Rate": "-rate", "Open.Workers": "-workers", "Open.Service": "-service",
	"Open.Queue": "-queue", "Open.Hop": "-hop", "Open.Timeout": "-timeout", "Open.After": "-after",
	"Open.Bucket": "-bucket", "Open.MaxEvents": "-max-events", "Open.Trigger.Start": "-outage-start",
	"Open.Trigger.Length": "-outage", "Open.Trigger.Magnitude": "-magnitude",
	"Herd.Clients": "-clients", "Herd.Rate": "-rate", "Herd.Burst": "-burst", "Herd.Outage": "-outage",
	"Herd.Hop": "-hop", "Herd.After": "-after", "Herd.Bucket": "-bucket", "Herd.MaxEvents": "-max-events",
	"OCC.Clients": "-clients", "OCC.Trials": "-trials", "OCC.MaxEvents": "-max-events",
	"Layers.Depth": "-layers", "Layers.Requests": "-requests", "Layers.Gap": "-rate", "Layers.Hop": "-hop",
	"Layers.FailRate": "-fail-rate", "Layers.MaxEvents": "-max-events",
	"Sweep.Magnitudes": "-magnitudes", "Sweep.Lengths": "-lengths",
	"Tail.Requests": "-requests", "Tail.FanOut": "-fan-out", "Tail.Rate": "-rate", "Tail.Workers": "-workers",
	"Tail.Median": "-median", "Tail.Sigma": "-sigma", "Tail.Stragglers": "-stragglers", "Tail.SlowMin": "-slow-min",
	"Tail.SlowMax": "-slow-max", "Tail.Hop": "-hop", "Tail.BrownoutStart": "-outage-start", "Tail.BrownoutLength": "-outage",
	"Tail.Slowdown": "-slowdown", "Tail.Bucket": "-bucket", "Tail.MaxEvents": "-max-events",
	"Hedge.Delay": "-hedge", "Hedge.Quantile": "-hedge", "Hedge.MaxInFlight": "-max-in-flight",
}

// reportSim writes the error of retry sim to stderr in the words of its
// flags, after one "retry sim: ", and returns the exit status.
func reportSim(stderr io.Writer, err error) int {
	var (
		ue *usageError
		fe *sim.FieldError
		le *sim.LimitError
	)
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "retry sim: %v\n%s\nRun 'retry sim -h' for the flags and their defaults.\n", ue, simSynopsis)
		return exitUsage
	case errors.As(err, &fe):
		if f, ok := simFlags[fe.Field]; ok {
			fmt.Fprintf(stderr, "retry sim: %s %s\n", f, fe.Problem)
		} else {
			fmt.Fprintf(stderr, "retry sim: %s %s\n", fe.Field, fe.Problem)
		}
		return exitUsage
	case errors.As(err, &le) && le.Pending:
		fmt.Fprintf(stderr, "retry sim: stopped at virtual time %v holding more than %d events at once: the work in flight outgrows what a run holds; lower the load (-rate, -clients, -requests) or let attempts time out (-timeout) or give up (-attempts)\n",
			le.At.Round(time.Millisecond), le.Limit)
		return exitFailure
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "retry sim: stopped after %d events at virtual time %v: raise -max-events or shorten the run\n",
			le.Limit, le.At.Round(time.Millisecond))
		return exitFailure
	case errors.Is(err, retry.ErrInvalidConfig):
		fmt.Fprintf(stderr, "retry sim: %s\n", strings.TrimPrefix(err.Error(), retry.ErrInvalidConfig.Error()+": "))
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "retry sim: %v\n", err)
		return exitFailure
	}
	return 0
}

// The fields of the budget and breaker configurations, as the library's
// errors name them, and the keys of -budget and -breaker that set them.
var (
	budgetKeys = map[string]string{"Capacity": "capacity", "PerSuccess": "per-success", "PerSecond": "per-second",
		"RetryCost": "cost", "TimeoutCost": "timeout-cost", "Threshold": "threshold"}
	breakerKeys = map[string]string{"FailureThreshold": "failures", "RecoveryTimeout": "recovery", "HalfOpenProbes": "probes"}
)

// identifier matches a Go field name in an error message.
var identifier = regexp.MustCompile(`\b[A-Z][A-Za-z]*\b`)

// inKeys returns the message of err, an invalid configuration of type typ
// ("BudgetConfig"), without the prefixes the library gives it and with the
// fields it names replaced by the keys of the flag that set them.
func inKeys(err error, typ string, keys map[string]string) string {
	msg := strings.TrimPrefix(err.Error(), retry.ErrInvalidConfig.Error()+": "+typ+": ")
	return identifier.ReplaceAllStringFunc(msg, func(w string) string {
		if k, ok := keys[w]; ok {
			return k
		}
		return w
	})
}
