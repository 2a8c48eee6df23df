package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeModule writes a module with one benchmark, W, whose sub-benchmarks
// lib=a and lib=b allocate nothing and one object per call.
func fakeModule(t *testing.T) string {
	repo := t.TempDir()
	dir := filepath.Join(repo, "fake")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/fake\n\ngo 1.25\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fake_test.go"), []byte(`package fake

import "testing"

var sink *int

func BenchmarkW(b *testing.B) {
	b.Run("lib=a", func(b *testing.B) {
		for b.Loop() {
		}
	})
	b.Run("lib=b", func(b *testing.B) {
		for b.Loop() {
			sink = new(int)
		}
	})
}
`), 0o644))
	return repo
}

// TestCollect builds a real test binary once and measures two rounds of
// an idle run and a busy one, each member in a process of its own: the raw
// file holds every sample under its run, round and member, with the
// metadata of each run.
func TestCollect(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	repo := fakeModule(t)
	g := Group{Name: "W", Module: "fake", Title: "w", Members: libs("W", "a", "b"),
		Views: []View{{Title: "t", Subject: "a", Refs: []string{"b"}}}}
	o := Options{Repo: repo, Rounds: 2, Benchtime: "10x", Seed: 3, Loads: []string{"idle", "busy"}, Burners: 1,
		Out: filepath.Join(repo, "results")}
	path, err := Collect(t.Context(), o, []Group{g}, io.Discard)
	require.NoError(t, err)
	runs, err := readRawFile(path)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	for i, name := range []string{"idle", "busy"} {
		r := runs[i]
		assert.Equal(t, name, r.Name)
		for _, m := range []string{"a", "b"} {
			assert.Len(t, r.Values("W", m), 2, "%s %s: one sample per round", name, m)
		}
		assert.Equal(t, 0.0, r.Allocs("W", "a"))
		assert.Equal(t, 1.0, r.Allocs("W", "b"))
		for _, k := range []string{"date", "cpu", "ncpu", "go", "rounds", "benchtime", "seed", "burners",
			"load-start", "load-end", "duration"} {
			assert.NotEmpty(t, r.Meta[k], "%s: %s", name, k)
		}
		assert.Equal(t, "10x", r.Meta["benchtime"])
	}
	assert.Equal(t, "0", runs[0].Meta["burners"])
	assert.Equal(t, "1", runs[1].Meta["burners"])
	assert.False(t, runs[1].Quiet(), "a busy run is never quiet")
}

// TestCollectMissingBenchmark: a member whose benchmark does not exist
// stops the run with an error that names it.
func TestCollectMissingBenchmark(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a test binary")
	}
	repo := fakeModule(t)
	g := Group{Name: "W", Module: "fake", Members: libs("W", "a", "c"),
		Views: []View{{Title: "t", Subject: "a", Refs: []string{"c"}}}}
	o := Options{Repo: repo, Rounds: 1, Benchtime: "1x", Seed: 1, Loads: []string{"idle"}, Burners: 1,
		Out: filepath.Join(repo, "results")}
	_, err := Collect(t.Context(), o, []Group{g}, io.Discard)
	require.ErrorContains(t, err, "benchmark W/lib=c: 0 result lines")
}
