package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// write replaces the listings in dir with want, removing a listing whose
// module is gone.
func write(dir string, want map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if _, ok := want[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, text := range want {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// compare reports to out, line by line, how the recorded listings in dir
// differ from want, and returns an error naming the command that records
// them when they do.
func compare(dir string, want map[string]string, out io.Writer) error {
	stale := false
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	recorded, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return err
	}
	for _, f := range recorded {
		if _, ok := want[filepath.Base(f)]; !ok {
			names = append(names, filepath.Base(f))
		}
	}
	slices.Sort(names)
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if string(got) == want[name] {
			continue
		}
		stale = true
		fmt.Fprintf(out, "--- %s (recorded)\n+++ %s (source)\n", name, name)
		for _, l := range diff(lines(string(got)), lines(want[name])) {
			fmt.Fprintln(out, l)
		}
	}
	if stale {
		return fmt.Errorf("the exported API changed and %s/ does not record it: run\n\t%s\nand say in CHANGELOG.md what changed and why", filepath.Base(dir), recordCommand)
	}
	return nil
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diff returns the lines only in a (prefixed "-") and only in b ("+"), in
// the order of a longest common subsequence; the listings are a few
// hundred lines, so the quadratic table is small.
func diff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "-"+a[i])
			i++
		default:
			out = append(out, "+"+b[j])
			j++
		}
	}
	return out
}
