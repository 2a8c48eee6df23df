package main

import (
	"math"
	"strconv"
)

// duration formats nanoseconds with three significant digits.
func duration(ns float64) string {
	switch {
	case math.IsNaN(ns):
		return "—"
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + " ms"
	case ns >= 1e5:
		return strconv.FormatFloat(ns/1e3, 'f', 0, 64) + " µs"
	case ns >= 1e4:
		return strconv.FormatFloat(ns/1e3, 'f', 1, 64) + " µs"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'f', 2, 64) + " µs"
	case ns >= 100:
		return strconv.FormatFloat(ns, 'f', 0, 64) + " ns"
	case ns >= 10:
		return strconv.FormatFloat(ns, 'f', 1, 64) + " ns"
	default:
		return strconv.FormatFloat(ns, 'f', 2, 64) + " ns"
	}
}

// ratio formats a ratio with three significant digits (two decimals
// below 10), and never rounds a value other than 1 to "1.00": 0.996 is
// "0.996".
func ratio(x float64) string {
	switch {
	case math.IsNaN(x):
		return "—"
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	s := strconv.FormatFloat(x, 'f', 2, 64)
	if s == "1.00" && x != 1 {
		s = strconv.FormatFloat(x, 'f', 3, 64)
		if s == "1.000" {
			s = strconv.FormatFloat(x, 'f', 4, 64)
		}
	}
	return s
}

// count formats an allocation count: whole numbers without decimals.
func count(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}
