package grpcx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// TestMethodSet: the set Methods builds holds exactly its names, whatever
// they share (length, ends, middles), found by equal strings of other
// storage too; and nothing shorter than a full method name.
func TestMethodSet(t *testing.T) {
	same := []string{"/a.S/Get", "/b.S/Get", "/a.T/Get", "/a.S/Put", "/a.S/Got"} // one length, shared ends
	for name, tc := range map[string]struct {
		set     []string
		in, out []string
	}{
		"empty":                {nil, nil, []string{"", "/a/b", "/grpc.testing.TestService/UnaryCall"}},
		"one":                  {[]string{"/s.S/M"}, []string{"/s.S/M"}, []string{"", "/", "/s", "/s.S", "/s.S/", "/s.S/m", "/s.S/MM", "s.S/M"}},
		"short names":          {[]string{"/a/b", "/a/c", "/b/b"}, []string{"/a/b", "/a/c", "/b/b"}, []string{"/b/c", "/a/bb", "/a/", "a/b"}},
		"one length":           {same, same, []string{"/c.S/Get", "/a.S/Gex", "/a.U/Get", "/a.S/Put "}},
		"duplicates":           {[]string{"/s.S/M", "/s.S/M", "/s.S/N"}, []string{"/s.S/M", "/s.S/N"}, []string{"/s.S/O"}},
		"copies of other data": {[]string{strings.Repeat("/x.Y/", 1) + "Z"}, []string{"/x.Y/" + strings.ToUpper("z")}, []string{"/x.Y/z"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := newMethodSet(tc.set)
			for _, m := range tc.in {
				assert.True(t, s.has(m), m)
			}
			for _, m := range tc.out {
				assert.False(t, s.has(m), m)
			}
			assert.Zero(t, testing.AllocsPerRun(10, func() { s.has("/a.S/Get") }))
		})
	}
}

// TestPropertyMethodSet: for any list of full method names, many alike
// (drawn from a few services and methods, lengths and ends in common), the
// set is true for exactly the names listed, checked against a map.
func TestPropertyMethodSet(t *testing.T) {
	part := rapid.StringMatching(`[a-c]{1,3}(\.[A-C][a-c]{0,2})?`)
	name := rapid.Custom(func(t *rapid.T) string { return "/" + part.Draw(t, "service") + "/" + part.Draw(t, "method") })
	rapid.Check(t, func(t *rapid.T) {
		names := rapid.SliceOf(name).Draw(t, "names")
		want := map[string]bool{}
		for _, m := range names {
			want[m] = true
		}
		s := newMethodSet(names)
		for _, m := range names {
			if !s.has(m) {
				t.Fatalf("%q listed, not found", m)
			}
		}
		for _, m := range rapid.SliceOf(rapid.OneOf(name, rapid.String())).Draw(t, "probes") {
			if s.has(m) != want[m] {
				t.Fatalf("has(%q) = %v, listed %v", m, s.has(m), want[m])
			}
		}
		if len(s.slots) < 2*len(want) {
			t.Fatalf("%d slots for %d names: more than half full", len(s.slots), len(want))
		}
	})
}
