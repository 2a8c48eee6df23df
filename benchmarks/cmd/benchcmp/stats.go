package main

import (
	"cmp"
	"maps"
	"math"
	"slices"

	"github.com/aclements/go-moremath/stats"
)

// Alpha is the significance level: a difference is claimed only with a
// p-value below it (benchstat's default).
const Alpha = 0.05

// Median returns the median of xs (the mean of the middle two when their
// number is even), or NaN when xs is empty. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// PairedRatios returns, for every round measured in both, subject's value
// divided by reference's, in the order of the rounds. Rounds are paired
// because they ran close together in time: what the machine was doing then
// weighs on both. Rounds whose reference is 0 are left out (the ratio is
// undefined); timings are never 0.
func PairedRatios(subject, reference map[int]float64) []float64 {
	var ratios []float64
	for _, round := range sortedKeys(subject) {
		ref, ok := reference[round]
		if !ok || ref == 0 {
			continue
		}
		ratios = append(ratios, subject[round]/ref)
	}
	return ratios
}

// Ratio summarises the paired ratios subject ÷ reference of one run.
// Below 1 the subject was faster. Slower and Faster count the rounds with
// a ratio above and below 1. P is benchstat's p-value for the two sets of
// timings: the Mann-Whitney U-test benchstat runs by default (unpaired,
// two-sided), 1 when it cannot be computed.
type Ratio struct {
	N                int
	Median, Min, Max float64
	Slower, Faster   int
	P                float64
}

// SummarizeRatios summarises ratios with the p-value p of the timings they
// came from.
func SummarizeRatios(ratios []float64, p float64) Ratio {
	r := Ratio{N: len(ratios), Median: Median(ratios), Min: math.NaN(), Max: math.NaN(), P: p}
	if len(ratios) > 0 {
		r.Min, r.Max = slices.Min(ratios), slices.Max(ratios)
	}
	for _, x := range ratios {
		switch {
		case x > 1:
			r.Slower++
		case x < 1:
			r.Faster++
		}
	}
	return r
}

// UTest returns benchstat's p-value for samples a and b: the two-sided
// Mann-Whitney U-test (go-moremath's, which benchstat calls), or 1 when it
// cannot be computed (an empty sample).
func UTest(a, b []float64) float64 {
	res, err := stats.MannWhitneyUTest(a, b, stats.LocationDiffers)
	if err != nil {
		return 1
	}
	return res.P
}

// Verdict is what a run lets one say about subject ÷ reference, ordered
// from the worst for the subject to the best.
type Verdict int

const (
	// Slower: every round had the subject slower and p < Alpha.
	Slower Verdict = iota
	// NoDifference: the ratio's interval (its smallest to its largest
	// value over the rounds) crosses 1, or p ≥ Alpha.
	NoDifference
	// Faster: every round had the subject faster and p < Alpha.
	Faster
)

// Judge returns the verdict of r. A difference is claimed only when both
// tests agree: every round on the same side of 1 (with 10 rounds, a sign
// test at p = 0.002) and the U-test below Alpha. Anything else is
// NoDifference, whatever the median says; the report adds how many rounds
// went which way, so that "no difference" never hides a subject that was
// slower in most rounds.
func Judge(r Ratio) Verdict {
	switch {
	case r.N == 0 || r.P >= Alpha:
		return NoDifference
	case r.Max < 1:
		return Faster
	case r.Min > 1:
		return Slower
	default:
		return NoDifference
	}
}

// Worse returns the less favourable of two runs' summaries for the
// subject: the worse verdict, and between equal verdicts the larger median
// ratio. It is the one a claim may quote.
func Worse(a, b Ratio) Ratio {
	if c := cmp.Compare(Judge(a), Judge(b)); c != 0 {
		if c < 0 {
			return a
		}
		return b
	}
	if b.Median > a.Median {
		return b
	}
	return a
}

// sortedKeys returns m's keys in increasing order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
