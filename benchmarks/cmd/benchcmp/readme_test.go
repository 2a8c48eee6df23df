package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplaceSection(t *testing.T) {
	section := BeginMarker + "\nnew\n" + EndMarker + "\n"
	doc := "# T\n\nbefore\n" + BeginMarker + "\nold\nlines\n" + EndMarker + "\nafter\n"
	got, err := ReplaceSection(doc, section)
	require.NoError(t, err)
	assert.Equal(t, "# T\n\nbefore\n"+BeginMarker+"\nnew\n"+EndMarker+"\nafter\n", got)

	again, err := ReplaceSection(got, section)
	require.NoError(t, err)
	assert.Equal(t, got, again, "replacing twice changes nothing")

	cases := []struct{ name, doc, section, want string }{
		{"no markers", "text", section, "0 begin markers"},
		{"two begin markers", BeginMarker + BeginMarker + EndMarker, section, "2 begin markers"},
		{"no end marker", BeginMarker, section, "0 end markers"},
		{"end before begin", EndMarker + BeginMarker, section, "before the begin"},
		{"section without markers", doc, "new\n", "between the markers"},
	}
	for _, tc := range cases {
		_, err := ReplaceSection(tc.doc, tc.section)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}
