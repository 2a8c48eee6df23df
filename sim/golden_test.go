package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if filepath.Ext(name) == ".svg" {
		requireXML(t, string(got))
	}
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got), "%s differs; if the change is intended, run go test ./sim -run Golden -update", path)
}

// goldenRuns is a short stall of the scaled-down scenario, without and
// with a budget: the runs of TestGolden, which the chart tests draw too.
// They are run once per test binary; the callers only read them.
func goldenRuns(t *testing.T) []Result {
	t.Helper()
	rs, err := goldenOnce()
	require.NoError(t, err)
	return rs
}

var goldenOnce = sync.OnceValues(func() ([]Result, error) {
	s := small()
	s.Trigger = Trigger{Mode: Stall, Start: 3 * time.Second, Length: 2 * time.Second}
	s.After = 12 * time.Second
	s.Seed = 7
	p, err := newPolicy3(retry.FullJitter)
	if err != nil {
		return nil, err
	}
	var rs []Result
	for _, f := range []struct {
		label string
		b     *retry.BudgetConfig
	}{{"no budget", nil}, {"grpc budget", grpcBudget}} {
		r, err := s.Run(Fleet{Policy: p, Budget: f.b})
		if err != nil {
			return nil, err
		}
		r.Label = f.label
		rs = append(rs, r)
	}
	return rs, nil
})

// TestGolden pins every output, byte for byte: same seed, same output.
func TestGolden(t *testing.T) {
	rs := goldenRuns(t)
	for _, out := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"open.csv", func(b *bytes.Buffer) error { return WriteCSV(b, rs...) }},
		{"open.json", func(b *bytes.Buffer) error { return WriteJSON(b, rs) }},
		{"open.txt", func(b *bytes.Buffer) error { return WriteTable(b, rs...) }},
		{"open.svg", func(b *bytes.Buffer) error { return WriteSVG(b, rs...) }},
	} {
		var b bytes.Buffer
		require.NoError(t, out.write(&b))
		golden(t, out.name, b.Bytes())
	}
	sw := Sweep{Base: small(), Magnitudes: []float64{0.2, 1}, Lengths: []time.Duration{time.Second, 5 * time.Second}}
	sw.Base.After = 20 * time.Second
	r, err := sw.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	require.NoError(t, err)
	r.Label = "no budget"
	var c, s bytes.Buffer
	require.NoError(t, WriteSweepCSV(&c, r))
	require.NoError(t, WriteSweepSVG(&s, r))
	golden(t, "sweep.csv", c.Bytes())
	golden(t, "sweep.svg", s.Bytes())
}

// TestSameSeedSameBytes: two runs with one seed write the same
// bytes; another seed writes others.
func TestSameSeedSameBytes(t *testing.T) {
	t.Parallel()
	csv := func(seed uint64) string {
		s := Metastable()
		s.Seed = seed
		r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter), Budget: grpcBudget})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, WriteCSV(&b, r))
		require.NoError(t, WriteJSON(&b, r))
		return b.String()
	}
	a := csv(3)
	assert.Equal(t, a, csv(3))
	assert.NotEqual(t, a, csv(4))
}

func TestSweepRejectsBadInput(t *testing.T) {
	f := Fleet{Policy: policy3(t, retry.FullJitter)}
	for _, tc := range []struct {
		s    Sweep
		want string
	}{
		{Sweep{Base: small()}, "at least one"},
		{Sweep{Base: small(), Magnitudes: []float64{1}, Lengths: []time.Duration{0}}, "Sweep.Lengths"},
		{Sweep{Base: small(), Magnitudes: []float64{2}, Lengths: []time.Duration{time.Second}}, "Magnitude"},
		{Sweep{Base: small(), Magnitudes: make([]float64, 21), Lengths: make([]time.Duration, 20)}, "420 cells"},
	} {
		_, err := tc.s.Run(f)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), tc.want)
	}
}
