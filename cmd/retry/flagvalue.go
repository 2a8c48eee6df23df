package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retrykit/retry"
)

// countValue is a flag.Value for a non-negative count.
type countValue struct{ p *int }

func (v countValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("want a whole number >= 0, such as 5 (0 means no limit)")
	}
	*v.p = n
	return nil
}

// durationValue is a flag.Value for a non-negative Go duration.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return "0s" // so that flag's help omits zero defaults
	}
	return v.p.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// parseDuration reads a non-negative Go duration such as 250ms or 1m30s; a
// bare 0 is accepted.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration >= 0 in Go syntax, such as 250ms, 2s or 1m30s")
	}
	return d, nil
}

// multiplierValue is a flag.Value for a finite factor >= 1.
type multiplierValue struct{ p *float64 }

func (v multiplierValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v multiplierValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 1 {
		return errors.New("want a finite number >= 1, such as 1.5 or 2")
	}
	*v.p = f
	return nil
}

// choiceValue is a flag.Value for one of a fixed set of words.
type choiceValue struct {
	p       *string
	choices []string
}

func (v choiceValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v choiceValue) Set(s string) error {
	if !slices.Contains(v.choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(v.choices, ", "))
	}
	*v.p = s
	return nil
}

// jitterValue is a flag.Value for a jitter mode, in the syntax of
// retry.Jitter's String method.
type jitterValue struct{ p *retry.Jitter }

func (v jitterValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v jitterValue) Set(s string) error {
	j, err := parseJitter(s)
	if err != nil {
		return err
	}
	*v.p = j
	return nil
}

// parseJitter reads none, full, equal, decorrelated or proportional:F.
func parseJitter(s string) (retry.Jitter, error) {
	switch s {
	case "none":
		return retry.NoJitter, nil
	case "full":
		return retry.FullJitter, nil
	case "equal":
		return retry.EqualJitter, nil
	case "decorrelated":
		return retry.DecorrelatedJitter, nil
	}
	if f, ok := strings.CutPrefix(s, "proportional:"); ok {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || !(x >= 0 && x <= 1) {
			return retry.Jitter{}, fmt.Errorf("proportional:F needs a fraction F from 0 to 1, such as proportional:0.2, got %q", f)
		}
		return retry.ProportionalJitter(x), nil
	}
	return retry.Jitter{}, errors.New("want none, full, equal, decorrelated, or proportional:F with F from 0 to 1")
}

// exitListValue is a flag.Value for comma-separated exit statuses 1 to 255;
// repeating the flag adds to the list.
type exitListValue struct{ p *[]int }

func (v exitListValue) String() string {
	if v.p == nil {
		return ""
	}
	return joinInts(*v.p)
}

func (v exitListValue) Set(s string) error {
	codes, err := parseIntList(s, 1, 255)
	if err != nil {
		return fmt.Errorf("want comma-separated exit statuses from 1 to 255, such as 1,75: %w", err)
	}
	*v.p = append(*v.p, codes...)
	return nil
}

// statusListValue is a flag.Value for comma-separated HTTP statuses 100 to
// 599; repeating the flag adds to the list.
type statusListValue struct{ p *[]int }

func (v statusListValue) String() string {
	if v.p == nil {
		return ""
	}
	return joinInts(*v.p)
}

func (v statusListValue) Set(s string) error {
	codes, err := parseIntList(s, 100, 599)
	if err != nil {
		return fmt.Errorf("want comma-separated HTTP statuses from 100 to 599, such as 502,503: %w", err)
	}
	*v.p = append(*v.p, codes...)
	return nil
}

// parseIntList reads a comma-separated list of integers in [lo, hi]; spaces
// around items are allowed, empty items are not.
func parseIntList(s string, lo, hi int) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.Atoi(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", item)
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("%d is out of range", n)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
