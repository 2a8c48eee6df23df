package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 5, 100}, 5},
	}
	for _, tc := range cases {
		in := append([]float64(nil), tc.xs...)
		assert.Equal(t, tc.want, Median(tc.xs), "%v", tc.xs)
		assert.Equal(t, in, tc.xs, "Median must not sort its argument")
	}
	assert.True(t, math.IsNaN(Median(nil)))
}

func TestPairedRatios(t *testing.T) {
	cases := []struct {
		name               string
		subject, reference map[int]float64
		want               []float64
	}{
		{"in round order", map[int]float64{2: 30, 1: 10, 3: 8}, map[int]float64{3: 4, 1: 20, 2: 10}, []float64{0.5, 3, 2}},
		{"rounds of one side only", map[int]float64{1: 10, 2: 20}, map[int]float64{2: 10, 3: 5}, []float64{2}},
		{"a zero reference is left out", map[int]float64{1: 10, 2: 20}, map[int]float64{1: 0, 2: 10}, []float64{2}},
		{"nothing in common", map[int]float64{1: 1}, map[int]float64{2: 1}, nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, PairedRatios(tc.subject, tc.reference), tc.name)
	}
}

func TestSummarizeRatios(t *testing.T) {
	r := SummarizeRatios([]float64{1.2, 0.9, 1, 1.5, 1.1}, 0.01)
	assert.Equal(t, Ratio{N: 5, Median: 1.1, Min: 0.9, Max: 1.5, Slower: 3, Faster: 1, P: 0.01}, r)
	empty := SummarizeRatios(nil, 1)
	assert.Equal(t, 0, empty.N)
	assert.True(t, math.IsNaN(empty.Median) && math.IsNaN(empty.Min) && math.IsNaN(empty.Max))
}

// TestUTest checks the p-values against benchstat's: ten timings entirely
// below ten others give the exact two-sided p of the U-test, 2/C(20,10);
// the same timings give 1; too few to compute give 1.
func TestUTest(t *testing.T) {
	lo := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	hi := []float64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	assert.InDelta(t, 2.0/184756, UTest(lo, hi), 1e-12)
	assert.InDelta(t, 2.0/184756, UTest(hi, lo), 1e-12)
	assert.Equal(t, 1.0, UTest(lo, lo))
	assert.Equal(t, 1.0, UTest(nil, hi))
	// Four against four, fully separated: 2/C(8,4) = 0.029, the fewest
	// samples that can reach p < 0.05.
	assert.InDelta(t, 2.0/70, UTest(lo[:4], hi[:4]), 1e-12)
}

func TestJudge(t *testing.T) {
	cases := []struct {
		name string
		r    Ratio
		want Verdict
	}{
		{"every round faster, significant", Ratio{N: 10, Median: 0.8, Min: 0.7, Max: 0.95, P: 0.001}, Faster},
		{"every round slower, significant", Ratio{N: 10, Median: 1.3, Min: 1.1, Max: 1.5, P: 0.001}, Slower},
		{"one round across 1", Ratio{N: 10, Median: 1.3, Min: 0.99, Max: 1.5, P: 0.001}, NoDifference},
		{"a round at exactly 1", Ratio{N: 10, Median: 0.9, Min: 0.8, Max: 1, P: 0.001}, NoDifference},
		{"every round slower, p too large", Ratio{N: 10, Median: 1.02, Min: 1.01, Max: 1.03, P: 0.06}, NoDifference},
		{"p exactly alpha", Ratio{N: 10, Median: 0.5, Min: 0.4, Max: 0.6, P: Alpha}, NoDifference},
		{"no rounds", Ratio{P: 0}, NoDifference},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Judge(tc.r), tc.name)
	}
}

func TestWorse(t *testing.T) {
	faster := Ratio{N: 10, Median: 0.5, Min: 0.4, Max: 0.6, P: 0.001}
	same := Ratio{N: 10, Median: 0.9, Min: 0.8, Max: 1.1, P: 0.2}
	sameWorse := Ratio{N: 10, Median: 1.05, Min: 0.8, Max: 1.1, P: 0.2}
	slower := Ratio{N: 10, Median: 1.2, Min: 1.1, Max: 1.3, P: 0.001}
	assert.Equal(t, same, Worse(faster, same))
	assert.Equal(t, same, Worse(same, faster))
	assert.Equal(t, slower, Worse(slower, same))
	assert.Equal(t, sameWorse, Worse(same, sameWorse), "equal verdicts: the larger median")
	assert.Equal(t, sameWorse, Worse(sameWorse, same))
}

// timings draws n positive timings.
func timings(n int) *rapid.Generator[[]float64] {
	return rapid.SliceOfN(rapid.Float64Range(0.5, 2000), n, n)
}

// TestPairedRatioProperties: the paired-ratio math is exact algebra.
// Swapping subject and reference inverts every ratio (min and max trade
// places, faster and slower rounds trade counts, a verdict turns into its
// opposite, the p-value is the same); relabelling the rounds changes
// nothing; scaling the subject's times by c scales the median, min and max
// by c; the median lies between min and max.
func TestPairedRatioProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "rounds")
		s := timings(n).Draw(t, "subject")
		f := timings(n).Draw(t, "reference")
		perm := rapid.Permutation(rangeN(n)).Draw(t, "relabel")
		c := rapid.Float64Range(0.01, 100).Draw(t, "scale")
		sub, ref, sub2, ref2, scaled := map[int]float64{}, map[int]float64{}, map[int]float64{}, map[int]float64{}, map[int]float64{}
		for i := range n {
			sub[i+1], ref[i+1] = s[i], f[i]
			sub2[perm[i]+1], ref2[perm[i]+1] = s[i], f[i]
			scaled[i+1] = s[i] * c
		}
		p := UTest(s, f)
		require.Equal(t, p, UTest(f, s), "the U-test is symmetric")
		fwd := SummarizeRatios(PairedRatios(sub, ref), p)
		back := SummarizeRatios(PairedRatios(ref, sub), p)

		require.Equal(t, n, fwd.N)
		require.LessOrEqual(t, fwd.Min, fwd.Median)
		require.LessOrEqual(t, fwd.Median, fwd.Max)
		require.LessOrEqual(t, fwd.Slower+fwd.Faster, n)

		require.InEpsilon(t, 1/fwd.Max, back.Min, 1e-12)
		require.InEpsilon(t, 1/fwd.Min, back.Max, 1e-12)
		require.Equal(t, fwd.Slower, back.Faster)
		require.Equal(t, fwd.Faster, back.Slower)
		require.Equal(t, Faster-Judge(fwd), Judge(back), "the opposite verdict")

		require.Equal(t, fwd, SummarizeRatios(PairedRatios(sub2, ref2), p), "relabelled rounds")

		sc := SummarizeRatios(PairedRatios(scaled, ref), p)
		require.InEpsilon(t, fwd.Median*c, sc.Median, 1e-9)
		require.InEpsilon(t, fwd.Min*c, sc.Min, 1e-9)
		require.InEpsilon(t, fwd.Max*c, sc.Max, 1e-9)

		switch Judge(fwd) {
		case Faster:
			require.Less(t, fwd.Max, 1.0)
			require.Equal(t, n, fwd.Faster)
		case Slower:
			require.Greater(t, fwd.Min, 1.0)
			require.Equal(t, n, fwd.Slower)
		}
	})
}

// TestWorseProperties: Worse returns one of its arguments, its verdict is
// the worse of the two, and the order of the arguments does not change
// the verdict.
func TestWorseProperties(t *testing.T) {
	ratioGen := rapid.Custom(func(t *rapid.T) Ratio {
		xs := rapid.SliceOfN(rapid.Float64Range(0.1, 10), 1, 12).Draw(t, "ratios")
		return SummarizeRatios(xs, rapid.Float64Range(0, 1).Draw(t, "p"))
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b := ratioGen.Draw(t, "a"), ratioGen.Draw(t, "b")
		w := Worse(a, b)
		require.True(t, w == a || w == b)
		require.Equal(t, min(Judge(a), Judge(b)), Judge(w))
		require.Equal(t, Judge(w), Judge(Worse(b, a)))
		if Judge(a) == Judge(b) {
			require.Equal(t, max(a.Median, b.Median), w.Median)
		}
	})
}

func rangeN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
