package main

import (
	"errors"
	"fmt"
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
