package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// sizeValue is a flag.Value for a non-negative number of bytes, with an
// optional binary suffix: 512K, 64M, 1G (or KiB, MiB, GiB, TiB).
type sizeValue struct{ p *int64 }

func (v sizeValue) String() string {
	if v.p == nil {
		return "0"
	}
	return formatSize(*v.p)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

// sizeUnits are the suffixes parseSize accepts, largest first.
var sizeUnits = []struct {
	suffix string
	size   int64
}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}

// parseSize reads a size such as 1048576, 512K, 64MiB or 1G (binary units).
func parseSize(s string) (int64, error) {
	bad := errors.New("want a size in bytes >= 0, such as 1048576, 512K, 64M or 1G (K, M, G, T: KiB, MiB, GiB, TiB)")
	digits, unit := s, int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(strings.TrimSuffix(s, "iB"), u.suffix); ok {
			digits, unit = rest, u.size
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' || n > math.MaxInt64/unit {
		return 0, bad
	}
	return n * unit, nil
}

// formatSize writes n in the largest binary unit that divides it: 1G,
// 512K, 1000.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
