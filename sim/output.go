package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteCSV writes the time series of every result as CSV, one row per
// result and bucket, led by a header row. The numbers are formatted
// deterministically: the same runs write the same bytes.
func WriteCSV(w io.Writer, rs ...Result) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "seed", "t_s", "offered_per_s", "first_try_per_s", "served_per_s",
		"goodput_per_s", "failed_per_s", "queue", "tokens", "breakers_open"})
	for _, r := range rs {
		for _, s := range r.Series {
			cw.Write([]string{r.Label, strconv.FormatUint(r.Seed, 10), num(s.T), num(s.Offered), num(s.FirstTry),
				num(s.Served), num(s.Goodput), num(s.Failed), strconv.Itoa(s.Queue), num(s.Tokens),
				strconv.Itoa(s.BreakersOpen)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// num formats a number with at most 3 decimals and no trailing zeros.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// WriteJSON writes v, results of this package ([]Result, []SweepResult,
// OCCResult, LayersResult…), as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes the summaries of the results as a table for a person,
// one column per result.
func WriteTable(w io.Writer, rs ...Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(s *Summary) string) {
		fmt.Fprint(tw, name, "\t")
		for i := range rs {
			fmt.Fprint(tw, f(&rs[i].Summary), "\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "\t")
	for _, r := range rs {
		fmt.Fprint(tw, r.Label, "\t")
	}
	fmt.Fprintln(tw)
	row("caller requests", func(s *Summary) string { return fmt.Sprint(s.Logical) })
	row("attempts at the server", func(s *Summary) string { return fmt.Sprint(s.Attempts) })
	row("amplification (mean)", func(s *Summary) string { return orNA(s.FirstTry > 0, "%.3f", s.Amplification) })
	row("amplification (peak bucket)", func(s *Summary) string { return orNA(s.FirstTry > 0, "%.2f", s.AmplificationPeak) })
	row("amplification (trigger)", func(s *Summary) string {
		return orNA(s.TriggerLength > 0 && s.FirstTry > 0, "%.3f", s.AmplificationTrigger)
	})
	row("served (wasted)", func(s *Summary) string { return fmt.Sprintf("%d (%d)", s.Served, s.Wasted) })
	row("goodput /s (baseline)", func(s *Summary) string {
		// A herd has no time before its outage, hence no baseline.
		return fmt.Sprintf("%.1f (%s)", s.Goodput, orNA(s.TriggerEnd > s.TriggerLength || s.BaselineGoodput > 0, "%.1f", s.BaselineGoodput))
	})
	row("client success rate", func(s *Summary) string {
		return orNA(s.Succeeded+s.Failed > 0, "%.2f%%", 100*s.SuccessRate)
	})
	row("latency of successes p50/p90/p99 ms", func(s *Summary) string {
		return orNA(s.Succeeded > 0, "%g/%g/%g", s.LatencyP50, s.LatencyP90, s.LatencyP99)
	})
	row("time to outcome, all requests, p50/p90/p99 ms", func(s *Summary) string {
		return orNA(s.Succeeded+s.Failed > 0, "%g/%g/%g", s.OutcomeP50, s.OutcomeP90, s.OutcomeP99)
	})
	row("herd peak (per 100ms)", func(s *Summary) string { return fmt.Sprint(s.HerdPeak) })
	row("time to recover", func(s *Summary) string { return recoveryText(s) })
	return tw.Flush()
}

// orNA formats args with format when defined, and is "n/a" otherwise: a
// rate of nothing, or the latency of no success, has no value.
func orNA(defined bool, format string, args ...any) string {
	if !defined {
		return "n/a"
	}
	return fmt.Sprintf(format, args...)
}

// recoveryText says whether and how fast the run recovered, for people.
func recoveryText(s *Summary) string {
	switch {
	case s.NothingToRecover:
		return "n/a: every request ended during the trigger"
	case !s.Recovered:
		return fmt.Sprintf("did not recover within %gs", s.Horizon-s.TriggerEnd)
	}
	return fmt.Sprintf("%gs", s.RecoverySeconds)
}
