package sim

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
)

// WriteSweepSVG draws each sweep as a coloured map, side by side: trigger
// length across, magnitude up; green to olive by time to recover, scaled
// to the slowest recovery of the drawing, red where the run did not
// recover.
func WriteSweepSVG(w io.Writer, rs ...SweepResult) error {
	const cell, left, top, gap = 44, 70, 40, 40
	pw := 0
	if len(rs) > 0 {
		pw = left + cell*len(rs[0].Lengths) + gap
	}
	rows := 0
	if len(rs) > 0 {
		rows = len(rs[0].Magnitudes)
	}
	slowest, never := 0.0, false // the colour scale ends at the slowest recovery drawn
	for _, r := range rs {
		for _, c := range r.Cells {
			if c.Recovered {
				slowest = max(slowest, c.RecoverySeconds)
			} else {
				never = true
			}
		}
	}
	key := "green: at once"
	if slowest > 0 {
		key += fmt.Sprintf(", olive: %gs (the slowest here)", slowest)
	}
	if never {
		key += "; red: did not recover"
	}
	width := max(pw*len(rs), 200)
	caption := wrap("Each cell: the time from the trigger's end until 99% of the requests arriving succeed on their first attempt for 5s; "+
		key+".", float64(width-2*captionX))
	bottom := top + cell*rows // of the grid
	height := bottom + 52 + lineStep*(len(caption)-1) + 10
	var b strings.Builder
	svgOpen(&b, width, height)
	for i, r := range rs {
		x0 := i * pw
		fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`+"\n", x0+left, html.EscapeString(r.Label))
		nl := len(r.Lengths)
		for k, c := range r.Cells {
			mi, li := k/nl, k%nl
			x, y := x0+left+li*cell, top+(len(r.Magnitudes)-1-mi)*cell
			col, txt := "#d62728", "never"
			if c.Recovered {
				// Three figures fit a cell: 4.92s, 107s.
				col, txt = recoveryColour(c.RecoverySeconds, slowest), strconv.FormatFloat(c.RecoverySeconds, 'g', 3, 64)+"s"
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="white"/><text x="%d" y="%d" text-anchor="middle" fill="white">%s</text>`+"\n",
				x, y, cell, cell, col, x+cell/2, y+cell/2+4, txt)
		}
		for mi, m := range r.Magnitudes {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%g%%</text>`+"\n", x0+left-4, top+(len(r.Magnitudes)-1-mi)*cell+cell/2+4, 100*m)
		}
		for li, l := range r.Lengths {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%gs</text>`+"\n", x0+left+li*cell+cell/2, top+len(r.Magnitudes)*cell+14, l)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">trigger length</text>`+"\n", x0+left+nl*cell/2, top+len(r.Magnitudes)*cell+30)
		fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-90)" text-anchor="middle">capacity lost</text>`+"\n", x0+16, top+len(r.Magnitudes)*cell/2)
	}
	for i, line := range caption {
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", captionX, bottom+52+i*lineStep, html.EscapeString(line))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// captionX is the left margin of a sweep chart's caption, in pixels.
const captionX = 12

// recoveryColour shades from green (at once) to olive (slowest).
func recoveryColour(sec, slowest float64) string {
	f := 0.0
	if slowest > 0 {
		f = min(sec/slowest, 1)
	}
	r := int(44 + f*(188-44))
	g := int(160 - f*(160-140))
	return fmt.Sprintf("#%02x%02x%02x", r, g, 44)
}
