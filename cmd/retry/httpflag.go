package main

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// methodValue is a flag.Value for an HTTP method token, upper-cased.
type methodValue struct{ p *string }

func (v methodValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v methodValue) Set(s string) error {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !isTokenChar(r) }) {
		return errors.New("want an HTTP method such as GET, POST, PUT or DELETE")
	}
	*v.p = strings.ToUpper(s)
	return nil
}

// headerValue is a flag.Value that adds "Name: value" headers.
type headerValue struct{ h http.Header }

func (v headerValue) String() string {
	if v.h == nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v.h)) {
		for _, val := range v.h[k] {
			parts = append(parts, k+": "+val)
		}
	}
	return strings.Join(parts, "; ")
}

func (v headerValue) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || name == "" || strings.ContainsFunc(name, func(r rune) bool { return !isTokenChar(r) }) {
		return errors.New(`want "Name: value", such as "Accept: application/json"`)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return errors.New("a header value cannot contain CR, LF or NUL")
	}
	v.h.Add(name, value)
	return nil
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110).
func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
