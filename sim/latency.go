package sim

import "math"

// The latency histogram: 1 ms bins up to a minute, then 100 ms bins up to
// an hour; longer latencies count in the last bin.
const (
	latencyFine = 60_000                          // ms covered by 1 ms bins
	latencyBins = latencyFine + 3_540_000/100 + 1 // and by 100 ms bins, to an hour
)

// latencyBin returns the bin of a latency in ms.
func latencyBin(ms int64) int {
	if ms < latencyFine {
		return int(ms)
	}
	return min(latencyFine+int((ms-latencyFine)/100), latencyBins-1)
}

// latencyEdge returns the upper edge of bin i, in ms.
func latencyEdge(i int) float64 {
	if i < latencyFine {
		return float64(i + 1)
	}
	return float64(latencyFine + (i-latencyFine+1)*100)
}

// percentile returns the p-quantile of the n latencies counted in h, in
// ms (the upper edge of its bin: 1 ms wide below a minute, 100 ms to an
// hour), or 0 when n is 0. Beyond an hour it returns the hour.
func percentile(h []int64, n int64, p float64) float64 {
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(n)))
	var acc int64
	for i, c := range h {
		acc += c
		if acc >= rank {
			return latencyEdge(i)
		}
	}
	return latencyEdge(latencyBins - 1)
}

// roundMs rounds seconds to whole milliseconds.
func roundMs(s float64) float64 { return math.Round(s*1000) / 1000 }
