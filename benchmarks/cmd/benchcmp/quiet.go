package main

import (
	"math"
	"strconv"
)

// QuietCPU is the most CPU time, in CPUs on average, that other processes
// may use during a run for it to count as quiet.
const QuietCPU = 0.25

// Quiet reports whether r ran with no burner and with other processes
// using at most QuietCPU on average: only then did a benchmark that runs on
// every CPU at once have them all. A run that did not record the load is
// not quiet.
func (r *Run) Quiet() bool {
	if b := r.Meta["burners"]; b != "" && b != "0" {
		return false
	}
	return r.othersCPU() <= QuietCPU
}

// othersCPU returns the CPUs other processes used during r, NaN when it
// was not recorded.
func (r *Run) othersCPU() float64 {
	v, err := strconv.ParseFloat(r.Meta["others-cpu"], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// anyQuiet reports whether some run of the report was quiet.
func (rep Report) anyQuiet() bool {
	for _, r := range rep.Runs {
		if r.Quiet() {
			return true
		}
	}
	return false
}

// claimable reports whether the report may state verdicts and targets of
// g: a group that runs on every CPU at once needs a quiet run, since on a
// loaded machine its goroutines take turns instead of contending, which
// favours the designs that contend worst.
func (rep Report) claimable(g Group) bool { return !g.Parallel || rep.anyQuiet() }

// noQuietRun is the quoted cell and the note of a group that is not
// claimable.
const noQuietRun = "not claimed: no quiet run"
