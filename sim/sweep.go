package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// Sweep maps where a policy recovers: it runs Base once per trigger
// magnitude × length (OSDI'22's trigger magnitude × duration), with a Slow
// trigger of that magnitude (1 is a stall) and that length, and records
// whether and how fast goodput came back.
type Sweep struct {
	Base       Open
	Magnitudes []float64       // fractions of capacity lost, each in (0, 1]
	Lengths    []time.Duration // trigger lengths, each > 0
}

// MaxSweepCells bounds a sweep: every cell is a whole run.
const MaxSweepCells = 400

// SweepCell is one run of a sweep.
type SweepCell struct {
	Magnitude       float64 `json:"magnitude"`
	Length          float64 `json:"length_s"`
	Recovered       bool    `json:"recovered"`
	RecoverySeconds float64 `json:"recovery_s"` // -1: did not recover
	Goodput         float64 `json:"goodput"`
	Amplification   float64 `json:"amplification"`
	Succeeded       int64   `json:"succeeded"` // caller requests that succeeded, whole run
	Refused         int64   `json:"refused"`   // retries the clients' own budgets refused
}

// SweepResult is a sweep's cells, magnitude-major.
type SweepResult struct {
	Label      string      `json:"label"`
	After      float64     `json:"after_s"` // how long each run went on after its trigger
	Magnitudes []float64   `json:"magnitudes"`
	Lengths    []float64   `json:"lengths_s"`
	Cells      []SweepCell `json:"cells"`
}

func (s *Sweep) check() error {
	n := len(s.Magnitudes) * len(s.Lengths)
	switch {
	case len(s.Magnitudes) == 0:
		return fieldError("Sweep.Magnitudes", "is empty: a sweep needs at least one magnitude and one length")
	case len(s.Lengths) == 0:
		return fieldError("Sweep.Lengths", "is empty: a sweep needs at least one magnitude and one length")
	case n > MaxSweepCells:
		return fieldError("Sweep.Lengths", "and magnitudes make %d cells (%d × %d), more than a sweep runs (%d)",
			n, len(s.Lengths), len(s.Magnitudes), MaxSweepCells)
	}
	for _, m := range s.Magnitudes {
		if !(m > 0 && m <= 1) {
			return fieldError("Sweep.Magnitudes", "must each be in (0, 1], got %v", m)
		}
	}
	longest := s.Lengths[0]
	for _, l := range s.Lengths {
		if l <= 0 || l > MaxSpan {
			return fieldError("Sweep.Lengths", "must each be in (0, %v], got %v", MaxSpan, l)
		}
		longest = max(longest, l)
	}
	// The longest cell, checked before any runs, bounds them all.
	o := s.Base
	o.Trigger.Mode, o.Trigger.Magnitude, o.Trigger.Length = Slow, s.Magnitudes[0], longest
	return o.prepare()
}

// Run runs every cell with the fleet.
func (s Sweep) Run(f Fleet) (SweepResult, error) {
	if err := s.check(); err != nil {
		return SweepResult{}, err
	}
	res := SweepResult{Magnitudes: s.Magnitudes, After: seconds(int64(cmpOr(s.Base.After, 120*time.Second)))}
	for _, l := range s.Lengths {
		res.Lengths = append(res.Lengths, l.Seconds())
	}
	for _, m := range s.Magnitudes {
		for _, l := range s.Lengths {
			o := s.Base
			o.Trigger.Mode, o.Trigger.Magnitude, o.Trigger.Length = Slow, m, l
			r, err := o.Run(f)
			if err != nil {
				return SweepResult{}, fmt.Errorf("sim: sweep cell magnitude %v, length %v: %w", m, l, err)
			}
			res.Cells = append(res.Cells, SweepCell{Magnitude: m, Length: l.Seconds(),
				Recovered: r.Summary.Recovered, RecoverySeconds: r.Summary.RecoverySeconds,
				Goodput: r.Summary.Goodput, Amplification: r.Summary.Amplification,
				Succeeded: r.Summary.Succeeded, Refused: r.Summary.Refused})
		}
	}
	return res, nil
}

// WriteSweepTable writes one row per cell of every sweep, for a person.
func WriteSweepTable(w io.Writer, rs ...SweepResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmagnitude\tlength\ttime to recover\tgoodput /s\tamplification\t")
	for _, r := range rs {
		for _, c := range r.Cells {
			rec := "never"
			if c.Recovered {
				rec = fmt.Sprintf("%vs", c.RecoverySeconds)
			}
			fmt.Fprintf(tw, "%s\t%v\t%vs\t%s\t%.1f\t%.3f\t\n", r.Label, c.Magnitude, c.Length, rec, c.Goodput, c.Amplification)
		}
	}
	return tw.Flush()
}

// WriteSweepCSV writes one row per cell of every sweep.
func WriteSweepCSV(w io.Writer, rs ...SweepResult) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"label", "magnitude", "length_s", "recovered", "recovery_s", "goodput_per_s", "amplification"})
	for _, r := range rs {
		for _, c := range r.Cells {
			cw.Write([]string{r.Label, num(c.Magnitude), num(c.Length), strconv.FormatBool(c.Recovered),
				num(c.RecoverySeconds), num(round3(c.Goodput)), num(round3(c.Amplification))})
		}
	}
	cw.Flush()
	return cw.Error()
}

func round3(f float64) float64 {
	return float64(int64(f*1000+0.5)) / 1000
}
