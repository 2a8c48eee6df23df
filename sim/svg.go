package sim

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// SVG geometry of one panel, in pixels.
const (
	panelW, panelH         = 520, 300
	padL, padR, padT, padB = 56, 56, 46, 40
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
// over the panel's height) when any opened. The time axis ends with the
// last bucket of the longest series (a herd's run ends when its clients
// are done), and the legend, below the panels, names only what is drawn.
// The drawing is deterministic.
func WriteSVG(w io.Writer, rs ...Result) error {
	var sc scales
	for _, r := range rs {
		for _, s := range r.Series {
			sc.k = max(sc.k, s.Tokens)
		}
		sc.t = max(sc.t, seriesEnd(r))
	}
	sc.y, sc.k = axisTop(yTop(rs)), axisTop(sc.k)
	if sc.t <= 0 {
		sc.t = 1 // runs of no time: an axis all the same
	}
	if sc.y <= 0 {
		sc.y = 1 // nothing offered: the lines lie on the axis
	}
	width := panelW * max(len(rs), 1)
	rows := legendRows(sc.legend(rs), padL, float64(width-8))
	height := panelH + 4 + lineStep*len(rows)
	var b strings.Builder
	svgOpen(&b, width, height)
	for i, r := range rs {
		panel(&b, i, r, sc)
	}
	drawLegend(&b, rows, padL, panelH+12)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// scales are the tops of a chart's axes: time (s), requests per second,
// and budget tokens.
type scales struct{ t, y, k float64 }

// clipRatio is how far the values during the trigger must rise above all
// the others for the requests axis to leave them out.
const clipRatio = 4

// yTop returns the largest value to draw on the requests axis: the largest
// of all, unless those during the trigger dwarf the others (a herd's
// clients all trying at once at the start of its outage), which would
// flatten what happens after it: then the largest outside the trigger, and
// what rises above it is clipped, with a note of its peak.
func yTop(rs []Result) float64 {
	var all, outside float64
	for _, r := range rs {
		w := bucketOf(r)
		start, end := r.Summary.TriggerEnd-r.Summary.TriggerLength, r.Summary.TriggerEnd
		for _, s := range r.Series {
			v := max(s.Offered, s.Served, s.Goodput)
			all = max(all, v)
			if s.T+w <= start || s.T >= end {
				outside = max(outside, v)
			}
		}
	}
	if outside > 0 && all > clipRatio*outside {
		return outside
	}
	return all
}

// peakOf returns the largest value of r's three lines, its name and when.
func peakOf(r Result) (v float64, name string, at float64) {
	for _, s := range r.Series {
		for _, l := range []struct {
			name string
			v    float64
		}{{"offered", s.Offered}, {"served", s.Served}, {"goodput", s.Goodput}} {
			if l.v > v {
				v, name, at = l.v, l.name, s.T
			}
		}
	}
	return v, name, at
}

// seriesEnd returns when r's last bucket ends, in seconds: its horizon
// when it has no series.
func seriesEnd(r Result) float64 {
	if len(r.Series) == 0 {
		return r.Summary.Horizon
	}
	return r.Series[len(r.Series)-1].T + bucketOf(r)
}

// bucketOf returns the width of r's buckets in seconds; for a Result made
// without one, the spacing of its series, or 1.
func bucketOf(r Result) float64 {
	switch {
	case r.Summary.Bucket > 0:
		return r.Summary.Bucket
	case len(r.Series) > 1:
		return r.Series[1].T - r.Series[0].T
	}
	return 1
}

// What a panel draws beyond its three lines.
func drawsTrigger(r Result) bool           { return r.Summary.TriggerLength > 0 && len(r.Series) > 0 }
func drawsBreakers(r Result) bool          { return r.Summary.Clients > 0 && breakersOpened(r) }
func drawsTokens(r Result, sc scales) bool { return sc.k > 0 && observed(r) }
func drawsLines(r Result) bool             { return len(r.Series) > 0 }
func anyOf(rs []Result, f func(Result) bool) bool {
	for _, r := range rs {
		if f(r) {
			return true
		}
	}
	return false
}

// legend lists what the panels of rs draw, and only that.
func (sc scales) legend(rs []Result) []legendItem {
	var items []legendItem
	if anyOf(rs, drawsLines) {
		items = append(items, legendItem{colOffered, "offered (attempts at the server)"}, legendItem{colServed, "served (work done)"},
			legendItem{colGood, "goodput (successful requests)"})
	}
	if anyOf(rs, func(r Result) bool { return drawsTokens(r, sc) }) {
		items = append(items, legendItem{colTokens, "budget tokens (right axis)"})
	}
	if anyOf(rs, drawsBreakers) {
		items = append(items, legendItem{colBreaker, "breakers open (fraction, top = all)"})
	}
	if anyOf(rs, drawsTrigger) {
		items = append(items, legendItem{colTrigger, "trigger"})
	}
	return items
}

func panel(b *strings.Builder, i int, r Result, sc scales) {
	x0 := float64(i * panelW)
	pw, ph := float64(panelW-padL-padR), float64(panelH-padT-padB)
	X := func(t float64) float64 { return x0 + padL + min(t, sc.t)/sc.t*pw }
	Y := func(v float64) float64 { return padT + ph - v/sc.y*ph }
	K := func(v float64) float64 { return padT + ph - v/sc.k*ph }
	s := r.Summary
	fmt.Fprintf(b, `<text x="%.1f" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", x0+padL, html.EscapeString(r.Label))
	fmt.Fprintf(b, `<text x="%.1f" y="29" fill="#444">amplification %s, %s</text>`+"\n", x0+padL,
		orNA(s.FirstTry > 0, "%.2f", s.Amplification), recoveryPhrase(&s))
	if v, name, at := peakOf(r); v > sc.y {
		fmt.Fprintf(b, `<text x="%.1f" y="42" fill="%s">%s peaked at %g/s at %gs, above the scale</text>`+"\n", x0+padL, colOffered, name, v, at)
	}
	// Lines are clipped to the plot: values above the scale rise to its top.
	fmt.Fprintf(b, `<clipPath id="plot%d"><rect x="%.1f" y="%d" width="%.1f" height="%.1f"/></clipPath>`+"\n", i, X(0), padT, pw, ph)
	if drawsTrigger(r) {
		start := s.TriggerEnd - s.TriggerLength
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%.1f" fill="%s"/>`+"\n", X(start), padT, X(s.TriggerEnd)-X(start), ph, colTrigger)
	}
	// axes and ticks
	fmt.Fprintf(b, `<path d="M%.1f %d V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", X(0), padT, padT+ph, X(sc.t))
	for _, v := range ticks(sc.y) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", X(0)-4, Y(v)+4, tickLabel(v, sc.y))
	}
	for _, t := range ticks(sc.t) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>`+"\n", X(t), padT+ph+14, t)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">time (s)</text>`+"\n", X(sc.t/2), padT+ph+30)
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">requests per second</text>`+"\n", x0+14, padT+ph/2)
	half := bucketOf(r) / 2 // a bucket's value is drawn at its middle
	line := func(col string, dash string, f func(Sample) float64, y func(float64) float64) {
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5"%s clip-path="url(#plot%d)" points="`, col, dash, i)
		for i, smp := range r.Series {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "%.1f,%.1f", X(smp.T+half), y(f(smp)))
		}
		b.WriteString(`"/>` + "\n")
	}
	if drawsLines(r) {
		line(colOffered, "", func(s Sample) float64 { return s.Offered }, Y)
		line(colServed, ` stroke-dasharray="2 2"`, func(s Sample) float64 { return s.Served }, Y)
		line(colGood, "", func(s Sample) float64 { return s.Goodput }, Y)
	}
	if drawsBreakers(r) {
		// The fraction of the fleet's breakers not closed, 0 to 1 over the
		// panel's height.
		line(colBreaker, ` stroke-dasharray="1 2"`, func(smp Sample) float64 {
			return float64(smp.BreakersOpen) / float64(s.Clients)
		}, func(v float64) float64 { return padT + ph - v*ph })
	}
	if drawsTokens(r, sc) {
		line(colTokens, ` stroke-dasharray="6 3"`, func(s Sample) float64 { return max(s.Tokens, 0) }, K)
		fmt.Fprintf(b, `<path d="M%.1f %d V%.1f" stroke="%s" fill="none"/>`+"\n", X(sc.t), padT, padT+ph, colTokens)
		for _, v := range ticks(sc.k) {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", X(sc.t)+4, K(v)+4, colTokens, tickLabel(v, sc.k))
		}
		fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(90)" text-anchor="middle" fill="%s">budget tokens (fleet)</text>`+"\n",
			X(sc.t)+40, padT+ph/2, colTokens)
	}
}

// recoveryPhrase says how the run recovered, for a chart's subtitle.
func recoveryPhrase(s *Summary) string {
	switch {
	case s.NothingToRecover:
		return "nothing to recover"
	case s.Recovered:
		return fmt.Sprintf("recovered %gs after the trigger", s.RecoverySeconds)
	}
	return fmt.Sprintf("did not recover within %gs", s.Horizon-s.TriggerEnd)
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
