package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// listValue is a flag.Value for a comma-separated list of words.
type listValue struct{ p *[]string }

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v listValue) Set(s string) error {
	parts := strings.Split(s, ",")
	for _, p := range parts {
		if p == "" {
			return errors.New("want a comma-separated list without empty entries")
		}
	}
	*v.p = parts
	return nil
}

// floatListValue is a flag.Value for comma-separated fractions in (0, 1].
type floatListValue struct{ p *[]float64 }

func (v floatListValue) String() string {
	if v.p == nil {
		return ""
	}
	var s []string
	for _, f := range *v.p {
		s = append(s, strconv.FormatFloat(f, 'g', -1, 64))
	}
	return strings.Join(s, ",")
}

func (v floatListValue) Set(s string) error {
	var fs []float64
	for p := range strings.SplitSeq(s, ",") {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return fmt.Errorf("want comma-separated fractions in (0, 1], such as 0.5,1; got %q", p)
		}
		fs = append(fs, f)
	}
	*v.p = fs
	return nil
}

// durationListValue is a flag.Value for comma-separated positive durations.
type durationListValue struct{ p *[]time.Duration }

func (v durationListValue) String() string {
	if v.p == nil {
		return ""
	}
	var s []string
	for _, d := range *v.p {
		s = append(s, d.String())
	}
	return strings.Join(s, ",")
}

func (v durationListValue) Set(s string) error {
	var ds []time.Duration
	for p := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(p)
		if err != nil || d <= 0 {
			return fmt.Errorf("want comma-separated durations > 0, such as 1s,5s,30s; got %q", p)
		}
		ds = append(ds, d)
	}
	*v.p = ds
	return nil
}

// wholeValue is a flag.Value for a whole number, written in decimal
// (100000) or in scientific notation (1e5): the sizes of a simulation are
// often powers of ten. Its range is the scenario's to check, so that the
// error says what the bound is.
type wholeValue[T int | int64] struct{ p *T }

func (v wholeValue[T]) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}

func (v wholeValue[T]) Set(s string) error {
	bits := 64
	if _, ok := any(*new(T)).(int); ok {
		bits = strconv.IntSize
	}
	n, err := parseWhole(s, bits)
	if err != nil {
		return err
	}
	*v.p = T(n)
	return nil
}

// parseWhole reads a whole number of a signed integer type of bits bits,
// in decimal or in scientific notation ("2.5e3" is 2500); a fraction, a
// number beyond the type, or anything else is an error.
func parseWhole(s string, bits int) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, bits); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, fmt.Errorf("want a whole number, such as 100 or 1e5; got %q", s)
	}
	if limit := math.Ldexp(1, bits-1); f >= limit || f < -limit {
		return 0, fmt.Errorf("%s is beyond the whole numbers this flag holds (up to %d)", s, int64(math.MaxInt64)>>(64-bits))
	}
	return int64(f), nil
}

// simFormatValue is -format: a choice among simFormats that points to -svg
// when asked for a chart.
type simFormatValue struct{ choiceValue }

func (v simFormatValue) Set(s string) error {
	if s == "svg" {
		return errors.New("a chart is written to a file: use -svg FILE (with -format table, csv or json for standard output)")
	}
	return v.choiceValue.Set(s)
}
