package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// WriteTailTable writes the summaries of Tail runs as a table for a
// person, one column per run.
func WriteTailTable(w io.Writer, rs ...TailResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(r *TailResult) string) {
		fmt.Fprint(tw, name, "\t")
		for i := range rs {
			fmt.Fprint(tw, f(&rs[i]), "\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "\t")
	for _, r := range rs {
		fmt.Fprint(tw, r.Label, "\t")
	}
	fmt.Fprintln(tw)
	brown := false
	for _, r := range rs {
		brown = brown || r.BrownoutLoad > 0
	}
	row("user requests (calls)", func(r *TailResult) string { return fmt.Sprintf("%d (%d)", r.Requests, r.Calls) })
	row("user request p50/p99/p99.9 ms", func(r *TailResult) string {
		return fmt.Sprintf("%g/%g/%g", r.RequestP50, r.RequestP99, r.RequestP999)
	})
	row("single call p50/p99/p99.9 ms", func(r *TailResult) string {
		return fmt.Sprintf("%g/%g/%g", r.CallP50, r.CallP99, r.CallP999)
	})
	row("extra requests (hedges won)", func(r *TailResult) string { return fmt.Sprintf("%.2f%% (%d)", r.ExtraPercent, r.Wins) })
	row("hedges refused (by the budget)", func(r *TailResult) string { return fmt.Sprintf("%d (%d)", r.Refused, r.RefusedBudget) })
	row("load: attempts per call", func(r *TailResult) string { return fmt.Sprintf("%.3f", r.Load) })
	if brown {
		row("load during the brownout", func(r *TailResult) string { return fmt.Sprintf("%.3f", r.BrownoutLoad) })
		row("user request p99 in the brownout ms", func(r *TailResult) string { return fmt.Sprint(r.BrownoutP99) })
	}
	row("server utilisation (wasted)", func(r *TailResult) string {
		return fmt.Sprintf("%.1f%% (%.1f%%)", 100*r.Utilisation, r.Wasted)
	})
	row("longest server queue", func(r *TailResult) string { return fmt.Sprint(r.MaxQueue) })
	return tw.Flush()
}

// WriteTailCSV writes the time series of Tail runs as CSV, one row per run
// and bucket, led by a header row.
func WriteTailCSV(w io.Writer, rs ...TailResult) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "seed", "t_s", "calls_per_s", "attempts_per_s", "load", "queue", "mean_request_ms", "brownout"})
	for _, r := range rs {
		for _, s := range r.Series {
			cw.Write([]string{r.Label, strconv.FormatUint(r.Seed, 10), num(s.T), num(s.Calls), num(s.Attempts),
				num(s.Load), strconv.Itoa(s.Queue), num(s.MeanMs), strconv.FormatBool(s.Brownout)})
		}
	}
	cw.Flush()
	return cw.Error()
}
