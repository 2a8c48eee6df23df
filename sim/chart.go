package sim

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The text of the charts: 11 px sans-serif, whose characters average a
// little over half an em; widths are estimated from it, generously, so that
// a line laid out to fit does fit in a browser.
const (
	fontSize  = 11
	charWidth = 6.2 // px, the estimated mean width of a character
	lineStep  = 16  // px between two lines of text
)

// textWidth estimates the width of s in pixels.
func textWidth(s string) float64 { return charWidth * float64(len([]rune(s))) }

// wrap breaks text into lines at most width pixels wide, at spaces.
func wrap(text string, width float64) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && textWidth(line+" "+w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// svgOpen starts an SVG document of width × height on a white ground.
func svgOpen(b *strings.Builder, width, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n",
		width, height, width, height, fontSize)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
}

// legendItem is one entry of a legend: a swatch of a colour and its name.
type legendItem struct{ col, name string }

// legendSwatch is the width of a swatch and the gap to its name, and
// legendGap the space after an entry, in pixels.
const legendSwatch, legendGap = 18, 24

// legendRows lays items out in rows at most width pixels wide, from x0.
func legendRows(items []legendItem, x0, width float64) [][]legendItem {
	var rows [][]legendItem
	x := x0
	for _, it := range items {
		w := legendSwatch + textWidth(it.name)
		if len(rows) == 0 || (x > x0 && x+w > width) {
			rows = append(rows, nil)
			x = x0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], it)
		x += w + legendGap
	}
	return rows
}

// drawLegend draws rows of items, the first row's text at baseline y.
func drawLegend(b *strings.Builder, rows [][]legendItem, x0, y float64) {
	for i, row := range rows {
		x := x0
		yy := y + float64(i*lineStep)
		for _, it := range row {
			fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="14" height="4" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
				x, yy-4, it.col, x+legendSwatch, yy, html.EscapeString(it.name))
			x += legendSwatch + textWidth(it.name) + legendGap
		}
	}
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

// tickLabel writes a tick's value on an axis up to top, in a unit short
// enough for the axis's margin: 20k for 20000 where the top is at least
// 10000, 1.5M for 1500000 where it is at least a million.
func tickLabel(v, top float64) string {
	switch {
	case v == 0:
		return "0"
	case top >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case top >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
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
