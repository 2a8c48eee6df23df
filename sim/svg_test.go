package sim

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// svgElement is one element of a drawing: its name, attributes and text.
type svgElement struct {
	name  string
	attr  map[string]string
	text  string
	depth int
}

// parseSVG returns the elements of a well-formed SVG document, failing the
// test if it is not one.
func parseSVG(t *testing.T, s string) []svgElement {
	t.Helper()
	var els []svgElement
	var open []int // the elements being read, innermost last
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			require.Empty(t, open, "every element closed")
			return els
		}
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attr: map[string]string{}, depth: len(open)}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			open = append(open, len(els))
			els = append(els, e)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				els[open[len(open)-1]].text += strings.TrimSpace(string(tok))
			}
		}
	}
}

func num64(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "%q", s)
	return f
}

// isSwatch reports whether e is a legend's colour swatch.
func isSwatch(e svgElement) bool {
	return e.name == "rect" && e.attr["width"] == "14" && e.attr["height"] == "4"
}

// checkChart checks what every chart must be: well-formed, as wide as its
// content (every text inside the canvas, by the estimate of its width the
// layout uses), and a legend naming only what is drawn.
func checkChart(t *testing.T, svg string, wantWidth int) []svgElement {
	t.Helper()
	els := parseSVG(t, svg)
	require.Equal(t, "svg", els[0].name)
	width := num64(t, els[0].attr["width"])
	assert.Equal(t, float64(wantWidth), width, "the canvas is as wide as its panels")
	for _, e := range els {
		if e.name != "text" || e.attr["transform"] != "" {
			continue
		}
		x, w := num64(t, e.attr["x"]), textWidth(e.text)
		switch e.attr["text-anchor"] {
		case "middle":
			x -= w / 2
		case "end":
			x -= w
		}
		assert.GreaterOrEqual(t, x, 0.0, "%q starts on the canvas", e.text)
		assert.LessOrEqual(t, x+w, width, "%q ends on the canvas", e.text)
	}
	drawn := map[string]bool{}
	for _, e := range els {
		if isSwatch(e) {
			continue
		}
		drawn[e.attr["stroke"]] = drawn[e.attr["stroke"]] || e.name == "polyline"
		drawn[e.attr["fill"]] = drawn[e.attr["fill"]] || e.name == "rect"
	}
	for _, e := range els {
		if isSwatch(e) {
			assert.True(t, drawn[e.attr["fill"]], "the legend's %s is drawn", e.attr["fill"])
		}
	}
	return els
}

// TestSVGWidthFromContent: a chart is as wide as its panels (520 px each),
// not as a legend of everything it could draw; its legend wraps instead.
func TestSVGWidthFromContent(t *testing.T) {
	rs := goldenRuns(t)
	for n := 1; n <= 2; n++ {
		var b strings.Builder
		require.NoError(t, WriteSVG(&b, rs[:n]...))
		checkChart(t, b.String(), n*panelW)
	}
}

// TestSVGLegendListsWhatIsDrawn: without budgets or breakers, the legend
// names neither; with them, both, each drawn.
func TestSVGLegendListsWhatIsDrawn(t *testing.T) {
	rs := goldenRuns(t) // without, then with a budget
	legend := func(rs ...Result) string {
		var b strings.Builder
		require.NoError(t, WriteSVG(&b, rs...))
		var names []string
		els := checkChart(t, b.String(), len(rs)*panelW)
		for i, e := range els {
			if isSwatch(e) {
				names = append(names, els[i+1].text)
			}
		}
		return strings.Join(names, "; ")
	}
	assert.Equal(t, "offered (attempts at the server); served (work done); goodput (successful requests); trigger", legend(rs[0]))
	assert.Equal(t, "offered (attempts at the server); served (work done); goodput (successful requests); budget tokens (right axis); trigger",
		legend(rs...))

	s := quick()
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter), Breaker: &retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second}})
	require.NoError(t, err)
	assert.Contains(t, legend(r), "breakers open")
}

// TestSVGHerdTimeAxisFitsTheAction: a herd whose clients are all served
// within seconds of its outage is drawn over those seconds, not over the
// two minutes it was allowed; and its lines are drawn at the middle of
// their 100 ms buckets, not half a second later. The first attempts, all
// at once during the outage, would flatten the herd after it: they rise
// above the scale, with a note.
func TestSVGHerdTimeAxisFitsTheAction(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxDelay(5*time.Second))
	require.NoError(t, err)
	r, err := Herd{Clients: 1000, Outage: 4 * time.Second, Rate: 1000, Burst: 10, Hop: 10 * time.Millisecond, Seed: 1}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	require.True(t, r.Summary.Recovered)
	end := r.Series[len(r.Series)-1].T + 0.1
	require.Less(t, end, 15.0)
	var b strings.Builder
	require.NoError(t, WriteSVG(&b, r))
	els := checkChart(t, b.String(), panelW)
	var last float64
	for _, e := range els {
		if e.name == "text" && e.attr["transform"] == "" && e.attr["text-anchor"] == "middle" && num64(t, e.attr["y"]) == float64(panelH-padB+14) {
			last = num64(t, e.text) // the time ticks, left to right
		}
	}
	assert.InDelta(t, end, last, end/2, "the last time tick is near the end of the action")
	for _, e := range els {
		if e.name == "polyline" && e.attr["stroke"] == colOffered {
			first := strings.Fields(e.attr["points"])[0]
			x := num64(t, strings.Split(first, ",")[0])
			assert.InDelta(t, padL+0.05/end*float64(panelW-padL-padR), x, 0.2, "the first bucket drawn at its middle")
		}
	}
	assert.Contains(t, b.String(), "offered peaked at ")
}

// TestSweepSVGCaptionFits: the caption of a one-sweep map wraps within its
// canvas.
func TestSweepSVGCaptionFits(t *testing.T) {
	r := SweepResult{Label: "x", After: 120, Magnitudes: []float64{0.5, 1}, Lengths: []float64{1, 5, 30},
		Cells: []SweepCell{{Recovered: true, RecoverySeconds: 107.123}, {Recovered: true}, {}, {}, {}, {}}}
	var b strings.Builder
	require.NoError(t, WriteSweepSVG(&b, r))
	els := checkChart(t, b.String(), 70+3*44+40)
	assert.Contains(t, b.String(), ">107s<", "three figures fit a cell")
	var caption []string
	for _, e := range els {
		if e.name == "text" && e.attr["transform"] == "" && num64(t, e.attr["x"]) == captionX {
			caption = append(caption, e.text)
		}
	}
	assert.Greater(t, len(caption), 2, "wrapped")
	assert.Contains(t, strings.Join(caption, " "), "red: did not recover")
}

// TestTickLabels: an axis's labels share a unit short enough for its
// margin.
func TestTickLabels(t *testing.T) {
	for _, tc := range []struct {
		v, top float64
		want   string
	}{
		{0, 1e4, "0"}, {800, 800, "800"}, {2000, 1e4, "2k"}, {500000, 5e5, "500k"}, {1.5e6, 2e6, "1.5M"}, {0.25, 1, "0.25"},
	} {
		assert.Equal(t, tc.want, tickLabel(tc.v, tc.top), "%v of %v", tc.v, tc.top)
	}
}
