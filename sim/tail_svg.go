package sim

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// runColours tell the runs of a tail chart apart.
var runColours = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// The bars of a run: its user requests' p50, p99 and p99.9, darkest last.
var barShades = []struct {
	name    string
	opacity float64
	v       func(r *TailResult) float64
}{
	{"p50", 0.35, func(r *TailResult) float64 { return r.RequestP50 }},
	{"p99", 0.65, func(r *TailResult) float64 { return r.RequestP99 }},
	{"p99.9", 1, func(r *TailResult) float64 { return r.RequestP999 }},
}

// WriteTailSVG draws Tail runs: on the left, each run's user request
// latency (p50, p99, p99.9; a log scale) with the extra requests its
// hedges sent above; on the right, when a run had a brownout, each run's
// load (attempts per call) over time, the brownout shaded. The drawing is
// deterministic.
func WriteTailSVG(w io.Writer, rs ...TailResult) error {
	brown := false
	for _, r := range rs {
		brown = brown || r.BrownoutLoad > 0
	}
	const group = 84
	barsW := padL + padR + group*max(len(rs), 1)
	width := barsW
	if brown {
		width += panelW
	}
	items := make([]legendItem, 0, len(rs))
	for i, r := range rs {
		items = append(items, legendItem{runColours[i%len(runColours)], r.Label})
	}
	rows := legendRows(items, padL, float64(width-8))
	height := panelH + 4 + lineStep*len(rows)
	var b strings.Builder
	svgOpen(&b, width, height)
	tailBars(&b, rs, group)
	if brown {
		tailLoad(&b, rs, float64(barsW))
	}
	drawLegend(&b, rows, padL, panelH+12)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// tailBars draws the latency panel at the left.
func tailBars(b *strings.Builder, rs []TailResult, group int) {
	top := 1.0
	for _, r := range rs {
		top = max(top, r.RequestP999)
	}
	decades := math.Ceil(math.Log10(top))
	ph := float64(panelH - padT - padB)
	// 0.1 ms at the bottom, the decade above the slowest p99.9 at the top.
	Y := func(ms float64) float64 {
		return padT + ph - (math.Log10(max(ms, 0.1))+1)/(decades+1)*ph
	}
	fmt.Fprintf(b, `<text x="%d" y="16" font-size="13" font-weight="bold">user request latency: p50, p99, p99.9</text>`+"\n", padL)
	fmt.Fprintf(b, `<text x="%d" y="29" fill="#444">above each run: the extra requests it sent</text>`+"\n", padL)
	right := padL + group*len(rs)
	fmt.Fprintf(b, `<path d="M%d %d V%.1f H%d" stroke="black" fill="none"/>`+"\n", padL, padT, padT+ph, right)
	for d := -1.0; d <= decades; d++ {
		v := math.Pow(10, d)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%g</text><path d="M%d %.1f H%d" stroke="#ddd"/>`+"\n", padL-4, Y(v)+4, v, padL, Y(v), right)
	}
	fmt.Fprintf(b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">ms (log scale)</text>`+"\n", padT+ph/2)
	for i := range rs {
		r := &rs[i]
		x := float64(padL + i*group + 8)
		col := runColours[i%len(runColours)]
		for k, s := range barShades {
			v := s.v(r)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="20" height="%.1f" fill="%s" fill-opacity="%g"><title>%s %g ms</title></rect>`+"\n",
				x+float64(k*22), Y(v), padT+ph-Y(v), col, s.opacity, s.name, v)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", x+55, Y(r.RequestP999)-4, r.RequestP999)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">+%.1f%%</text>`+"\n", x+33, padT+ph+14, r.ExtraPercent)
	}
}

// tailLoad draws the load panel from x0.
func tailLoad(b *strings.Builder, rs []TailResult, x0 float64) {
	end, top := 0.0, 2.0
	var brownStart, brownEnd float64 = -1, -1
	for _, r := range rs {
		for _, s := range r.Series {
			end = max(end, s.T+bucketWidth(r))
			top = max(top, s.Load)
			if s.Brownout {
				if brownStart < 0 || s.T < brownStart {
					brownStart = s.T
				}
				brownEnd = max(brownEnd, s.T+bucketWidth(r))
			}
		}
	}
	end, top = max(end, 1), axisTop(top)
	pw, ph := float64(panelW-padL-padR), float64(panelH-padT-padB)
	X := func(t float64) float64 { return x0 + padL + t/end*pw }
	Y := func(v float64) float64 { return padT + ph - v/top*ph }
	fmt.Fprintf(b, `<text x="%.1f" y="16" font-size="13" font-weight="bold">load on the server: attempts per call</text>`+"\n", x0+padL)
	fmt.Fprintf(b, `<text x="%.1f" y="29" fill="#444">shaded: the brownout (every request slower)</text>`+"\n", x0+padL)
	if brownStart >= 0 {
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%.1f" fill="%s"/>`+"\n", X(brownStart), padT, X(brownEnd)-X(brownStart), ph, colTrigger)
	}
	fmt.Fprintf(b, `<path d="M%.1f %d V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", X(0), padT, padT+ph, X(end))
	for _, v := range ticks(top) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%g×</text>`+"\n", X(0)-4, Y(v)+4, v)
	}
	for _, t := range ticks(end) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", X(t), padT+ph+14, t)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">time (s)</text>`+"\n", X(end/2), padT+ph+30)
	for i, r := range rs {
		half := bucketWidth(r) / 2
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, runColours[i%len(runColours)])
		n := 0
		for _, s := range r.Series {
			if s.Calls == 0 {
				continue // no call started: no load to speak of
			}
			if n > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "%.1f,%.1f", X(s.T+half), Y(s.Load))
			n++
		}
		b.WriteString(`"/>` + "\n")
	}
}

// bucketWidth returns the spacing of r's series in seconds, or 1.
func bucketWidth(r TailResult) float64 {
	if len(r.Series) > 1 {
		return r.Series[1].T - r.Series[0].T
	}
	return 1
}
