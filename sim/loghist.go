package sim

import "math"

// logHist counts durations in bins 1% wide on a log scale, from 1 µs (the
// first bin holds everything shorter) to beyond MaxSpan: about 3,400 bins,
// whatever the number of durations counted. A quantile read from it is the
// upper edge of its bin, at most 1% above the true value.
type logHist struct {
	bins []int64
	n    int64
}

// Geometry of a logHist.
const (
	histFloor = 1_000 // ns: the upper edge of the first bin
	histStep  = 1.01  // ratio of a bin's upper edge to its lower one
)

// histBins is enough bins for MaxSpan, and a few more.
var histBins = int(math.Log(float64(MaxSpan)/histFloor)/math.Log(histStep)) + 3

func newLogHist() logHist { return logHist{bins: make([]int64, histBins)} }

// histBin returns the bin of a duration of ns nanoseconds.
func histBin(ns int64) int {
	if ns <= histFloor {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(ns)/histFloor) / math.Log(histStep)))
	return min(i, histBins-1)
}

// histEdge returns the upper edge of bin i, in nanoseconds.
func histEdge(i int) float64 { return histFloor * math.Pow(histStep, float64(i)) }

func (h *logHist) add(ns int64) {
	h.bins[histBin(ns)]++
	h.n++
}

// reset empties h, keeping its bins.
func (h *logHist) reset() {
	clear(h.bins)
	h.n = 0
}

// quantile returns the q-quantile of what h and more (nil, or a histogram
// of the same geometry) hold together, in nanoseconds: the upper edge of
// the bin holding the ceil(q·n)-th smallest. It is 0 when they are empty.
func (h *logHist) quantile(q float64, more *logHist) float64 {
	n := h.n
	if more != nil {
		n += more.n
	}
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var acc int64
	for i, c := range h.bins {
		acc += c
		if more != nil {
			acc += more.bins[i]
		}
		if acc >= rank {
			return histEdge(i)
		}
	}
	return histEdge(histBins - 1)
}

// ms3 turns nanoseconds into milliseconds rounded to three significant
// figures, which is all a 1% bin knows.
func ms3(ns float64) float64 {
	if ns <= 0 {
		return 0
	}
	ms := ns / 1e6
	p := math.Pow(10, 2-math.Floor(math.Log10(ms)))
	return math.Round(ms*p) / p
}
