package redisretry

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// maxNameLen bounds a prefix or a name, in bytes.
const maxNameLen = 200

// key returns the Redis key of the state of the limit of the given kind
// ("budget" or "breaker") and name under prefix. The name is the key's
// hash tag: everything of one limit lives in one key, so it is served by
// one node of a Cluster, and limits spread over the nodes by name. Since a
// prefix and a name hold no brace, no two (prefix, name, kind) give the
// same key.
func key(prefix, name, kind string) string {
	if prefix == "" {
		return "{" + name + "}:" + kind
	}
	return prefix + ":{" + name + "}:" + kind
}

// checkName returns an error naming what is wrong with a prefix or a name.
func checkName(what, s string, emptyOK bool) error {
	switch {
	case s == "" && !emptyOK:
		return fmt.Errorf("%s is empty", what)
	case len(s) > maxNameLen:
		return fmt.Errorf("%s is %d bytes long, more than %d", what, len(s), maxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if r == '{' || r == '}' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q holds %q: braces (Redis Cluster hash tags), spaces and control characters are not allowed", what, s, r)
		}
	}
	return nil
}
