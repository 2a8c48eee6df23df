package main

import (
	"strings"
	"testing"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestParseJitterRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := rapid.SampledFrom([]retry.Jitter{
			retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter,
			retry.ProportionalJitter(rapid.Float64Range(0, 1).Draw(t, "f")),
		}).Draw(t, "jitter")
		got, err := parseJitter(j.String())
		require.NoError(t, err)
		require.Equal(t, j, got)
	})
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"10", 10}, {"512K", 512 << 10}, {"512KiB", 512 << 10}, {"64M", 64 << 20},
		{"1G", 1 << 30}, {"1GiB", 1 << 30}, {"2T", 2 << 40}, {"8388607T", 8388607 << 40},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "K", "-1", "+1", "1.5G", "1g", "1KB", "1iB", "8388608T", "1 G", "0x10"} {
		_, err := parseSize(bad)
		assert.Error(t, err, "%q", bad)
	}
	c, err := parseArgs([]string{"-stdin-limit", "1G", "true"})
	require.NoError(t, err)
	assert.Equal(t, int64(1<<30), c.stdinLimit)
	c, err = parseArgs([]string{"true"})
	require.NoError(t, err)
	assert.Equal(t, int64(64<<20), c.stdinLimit, "64 MiB by default")
	assert.Equal(t, "64M", formatSize(c.stdinLimit))
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "10", "512K", "1GiB", "8388607T", "-1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative %d accepted", s, n)
		}
		back, err := parseSize(formatSize(n))
		if err != nil || back != n {
			t.Fatalf("%q: %d does not round-trip through %q: %d, %v", s, n, formatSize(n), back, err)
		}
	})
}

func FuzzParseJitter(f *testing.F) {
	for _, s := range []string{"none", "full", "equal", "decorrelated", "proportional:0.2", "proportional:1e-3", "proportional:-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := parseJitter(s)
		if err != nil {
			return
		}
		if _, err := retry.NewPolicy(retry.WithJitter(j)); err != nil {
			t.Fatalf("%q parsed to an invalid jitter: %v", s, err)
		}
		back, err := parseJitter(j.String())
		if err != nil || back != j {
			t.Fatalf("%q: %v does not round-trip: %v, %v", s, j, back, err)
		}
	})
}

func FuzzParseIntList(f *testing.F) {
	for _, s := range []string{"1", "1,2,3", " 4 , 5 ", "", ",", "0x10", "+7", "1e2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := parseIntList(s, 1, 255)
		if err != nil {
			return
		}
		if len(ns) != strings.Count(s, ",")+1 {
			t.Fatalf("%q: %d items from %d fields", s, len(ns), strings.Count(s, ",")+1)
		}
		for _, n := range ns {
			if n < 1 || n > 255 {
				t.Fatalf("%q: %d out of range", s, n)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "250ms", "1m30s", "-1s", "5", "1.5h", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("%q: negative %v accepted", s, d)
		}
	})
}
