package main

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestComparisonsAreValid(t *testing.T) {
	names := map[string]bool{}
	for _, g := range Comparisons {
		require.NoError(t, g.Validate())
		require.False(t, names[g.Name], "two groups named %s", g.Name)
		names[g.Name] = true
		require.Contains(t, []string{modRoot, modBench, modGRPC, modOTel}, g.Module, g.Name)
		require.NotEmpty(t, g.Views, g.Name)
	}
}

func TestValidate(t *testing.T) {
	g := Group{Name: "G", Members: libs("W", "a", "b")}
	g.Views = []View{{Subject: "a", Refs: []string{"b"}, Targets: []Target{{Ref: "b", MaxRatio: 1}}}}
	require.NoError(t, g.Validate())

	bad := g
	bad.Views = []View{{Subject: "a", Refs: []string{"c"}}}
	require.ErrorContains(t, bad.Validate(), `no member "c"`)
	bad.Views = []View{{Subject: "a", Refs: []string{"b"}, Targets: []Target{{Ref: "z"}}}}
	require.ErrorContains(t, bad.Validate(), `unknown member "z"`)
	bad = Group{Name: "G", Members: libs("W", "a", "a")}
	require.ErrorContains(t, bad.Validate(), `"a" twice`)
}

func TestBenchRegexp(t *testing.T) {
	cases := []struct {
		bench, want string
		matches     []string
		misses      []string
	}{
		{"Retry3/lib=retrykit", "^BenchmarkRetry3$/^lib=retrykit$", nil, nil},
		{"Direct", "^BenchmarkDirect$", nil, nil},
		{"LogToDisabled/3_failures,_no_observer", "^BenchmarkLogToDisabled$/^3_failures,_no_observer$", nil, nil},
		{"HTTP503x2/lib=retry.go", `^BenchmarkHTTP503x2$/^lib=retry\.go$`, nil, nil},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, BenchRegexp(tc.bench))
	}
	// Each level is anchored: lib=retrykit does not select retrykit-inline.
	level := regexp.MustCompile("^lib=retrykit$")
	assert.False(t, level.MatchString("lib=retrykit-inline"))
}

func TestSelect(t *testing.T) {
	got, err := Select(Comparisons, "^(Success|Budget)$")
	require.NoError(t, err)
	assert.Equal(t, []string{"Success", "Budget"}, []string{got[0].Name, got[1].Name})

	all, err := Select(Comparisons, ".")
	require.NoError(t, err)
	assert.Len(t, all, len(Comparisons))

	hedge, err := Select(Comparisons, "hedge")
	require.NoError(t, err)
	assert.Equal(t, []string{"HedgeFirstWins", "HedgeOnce"}, []string{hedge[0].Name, hedge[1].Name}, "case is ignored")
	assert.Len(t, hedge, 2)
	_, err = Select(Comparisons, "^Nothing$")
	require.ErrorContains(t, err, "matches no comparison")
	_, err = Select(Comparisons, "(")
	require.ErrorContains(t, err, "filter")
}

// TestOrderProperties: a round's order is a permutation of the groups
// and, within each group, of its members; the same seed gives the same
// order; the groups given are not modified.
func TestOrderProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		before := slices.Clone(Comparisons)
		a := Order(rand.New(rand.NewPCG(seed, seed)), Comparisons)
		b := Order(rand.New(rand.NewPCG(seed, seed)), Comparisons)
		require.Equal(t, a, b)
		require.Equal(t, before, Comparisons)
		require.Len(t, a, len(Comparisons))
		for _, g := range Comparisons {
			i := slices.IndexFunc(a, func(x Group) bool { return x.Name == g.Name })
			require.GreaterOrEqual(t, i, 0, g.Name)
			require.ElementsMatch(t, g.Members, a[i].Members, g.Name)
		}
	})
}

// TestOrderVaries: over rounds, every member of a group comes first at
// least once (a fixed order would favour or handicap the same library).
func TestOrderVaries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := Comparisons[0]
	first := map[string]bool{}
	for range 200 {
		first[Order(rng, []Group{g})[0].Members[0].Label] = true
	}
	assert.Len(t, first, len(g.Members))
}
