package sim

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// SVG geometry of one panel, in pixels.
const (
	panelW, panelH         = 520, 300
	padL, padR, padT, padB = 56, 56, 34, 40
)

// Colours of the series.
const (
	colOffered = "#d62728"
	colServed  = "#7f7f7f"
	colGood    = "#2ca02c"
	colTokens  = "#1f77b4"
	colTrigger = "#fde0c5"
	colBreaker = "#9467bd"
)

// WriteSVG draws the results side by side, one panel each, on the same
// scales: attempts reaching the server (offered), work done (served) and
// successful caller requests (goodput) per second against time, the
// trigger shaded, the fleet's budget tokens on the right axis when they
// were observed, and the fraction of the clients' breakers open (0 to 1
// over the panel's height) when any opened. The drawing is deterministic.
func WriteSVG(w io.Writer, rs ...Result) error {
	var ymax, tmax, kmax float64
	for _, r := range rs {
		for _, s := range r.Series {
			ymax = max(ymax, s.Offered, s.Served, s.Goodput)
			tmax = max(tmax, s.T+1)
			kmax = max(kmax, s.Tokens)
		}
		tmax = max(tmax, r.Summary.Horizon)
	}
	ymax = axisTop(ymax)
	kmax = axisTop(kmax)
	var b strings.Builder
	width := max(panelW*max(len(rs), 1), legendWidth())
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		width, panelH+24, width, panelH+24)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, panelH+24)
	for i, r := range rs {
		panel(&b, float64(i*panelW), r, tmax, ymax, kmax)
	}
	legend(&b, panelH+16)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func panel(b *strings.Builder, x0 float64, r Result, tmax, ymax, kmax float64) {
	pw, ph := float64(panelW-padL-padR), float64(panelH-padT-padB)
	X := func(t float64) float64 { return x0 + padL + t/tmax*pw }
	Y := func(v float64) float64 { return padT + ph - v/ymax*ph }
	K := func(v float64) float64 { return padT + ph - v/kmax*ph }
	s := r.Summary
	fmt.Fprintf(b, `<text x="%.1f" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", x0+padL, html.EscapeString(r.Label))
	rec := "did not recover"
	if s.Recovered {
		rec = fmt.Sprintf("recovered %gs after the trigger", s.RecoverySeconds)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="29" fill="#444">amplification %.2f, %s</text>`+"\n", x0+padL, s.Amplification, rec)
	if trig := s.TriggerEnd; trig > 0 && len(r.Series) > 0 {
		start := trigStart(r)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%.1f" fill="%s"/>`+"\n", X(start), padT, X(trig)-X(start), ph, colTrigger)
	}
	// axes and ticks
	fmt.Fprintf(b, `<path d="M%.1f %d V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", X(0), padT, padT+ph, X(tmax))
	for _, v := range ticks(ymax) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%g</text>`+"\n", X(0)-4, Y(v)+4, v)
	}
	for _, t := range ticks(tmax) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", X(t), padT+ph+14, t)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">time (s)</text>`+"\n", X(tmax/2), padT+ph+30)
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">requests per second</text>`+"\n", x0+14, padT+ph/2)
	line := func(col string, dash string, f func(Sample) float64, y func(float64) float64) {
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5"%s points="`, col, dash)
		for i, smp := range r.Series {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "%.1f,%.1f", X(smp.T+0.5), y(f(smp)))
		}
		b.WriteString(`"/>` + "\n")
	}
	line(colOffered, "", func(s Sample) float64 { return s.Offered }, Y)
	line(colServed, ` stroke-dasharray="2 2"`, func(s Sample) float64 { return s.Served }, Y)
	line(colGood, "", func(s Sample) float64 { return s.Goodput }, Y)
	if s.Clients > 0 && breakersOpened(r) {
		// The fraction of the fleet's breakers not closed, 0 to 1 over the
		// panel's height.
		line(colBreaker, ` stroke-dasharray="1 2"`, func(smp Sample) float64 {
			return float64(smp.BreakersOpen) / float64(s.Clients)
		}, func(v float64) float64 { return padT + ph - v*ph })
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="end" fill="%s">all breakers open</text>`+"\n", X(tmax)-4, padT+12, colBreaker)
	}
	if kmax > 0 && observed(r) {
		line(colTokens, ` stroke-dasharray="6 3"`, func(s Sample) float64 { return max(s.Tokens, 0) }, K)
		fmt.Fprintf(b, `<path d="M%.1f %d V%.1f" stroke="%s" fill="none"/>`+"\n", X(tmax), padT, padT+ph, colTokens)
		for _, v := range ticks(kmax) {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">%g</text>`+"\n", X(tmax)+4, K(v)+4, colTokens, v)
		}
		fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(90)" text-anchor="middle" fill="%s">budget tokens (fleet)</text>`+"\n",
			X(tmax)+40, padT+ph/2, colTokens)
	}
}

// trigStart finds when the trigger started: the summary keeps its end.
func trigStart(r Result) float64 { return r.Summary.TriggerEnd - r.Summary.TriggerLength }

// legendItems are the series the legend names.
var legendItems = []struct{ col, name string }{
	{colOffered, "offered (attempts at the server)"}, {colServed, "served (work done)"},
	{colGood, "goodput (successful requests)"}, {colTokens, "budget tokens"},
	{colBreaker, "breakers open (fraction, top = all)"}, {colTrigger, "trigger"},
}

// legendWidth is the width the legend takes, in pixels.
func legendWidth() int {
	x := padL
	for _, it := range legendItems {
		x += 30 + 6*len(it.name)
	}
	return x
}

func legend(b *strings.Builder, y int) {
	x := padL
	for _, it := range legendItems {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="14" height="4" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, y-4, it.col, x+18, y, it.name)
		x += 30 + 6*len(it.name)
	}
}

// breakersOpened reports whether any of r's breakers was seen open.
func breakersOpened(r Result) bool {
	for _, s := range r.Series {
		if s.BreakersOpen > 0 {
			return true
		}
	}
	return false
}

// observed reports whether r has budget tokens to draw.
func observed(r Result) bool {
	for _, s := range r.Series {
		if s.Tokens >= 0 {
			return true
		}
	}
	return false
}

// axisTop rounds v up to a round number a little above it.
func axisTop(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// ticks returns about five round values from 0 to top.
func ticks(top float64) []float64 {
	if top <= 0 {
		return nil
	}
	step := niceCeil(top / 5)
	var ts []float64
	for v := 0.0; v <= top*1.0001; v += step {
		ts = append(ts, math.Round(v*1e6)/1e6)
	}
	return ts
}
