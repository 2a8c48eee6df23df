package main

import (
	"fmt"
	"strings"
)

// ReplaceSection returns doc with the text from BeginMarker to EndMarker
// (both included) replaced by section, which must itself start with
// BeginMarker and end with EndMarker and a newline. doc must hold each
// marker exactly once, the begin before the end.
func ReplaceSection(doc, section string) (string, error) {
	if !strings.HasPrefix(section, BeginMarker) || !strings.HasSuffix(section, EndMarker+"\n") {
		return "", fmt.Errorf("the section does not lie between the markers")
	}
	if n := strings.Count(doc, BeginMarker); n != 1 {
		return "", fmt.Errorf("the document holds %d begin markers (%q), want 1", n, BeginMarker)
	}
	if n := strings.Count(doc, EndMarker); n != 1 {
		return "", fmt.Errorf("the document holds %d end markers (%q), want 1", n, EndMarker)
	}
	begin := strings.Index(doc, BeginMarker)
	end := strings.Index(doc, EndMarker)
	if end < begin {
		return "", fmt.Errorf("the end marker comes before the begin marker")
	}
	end += len(EndMarker)
	if strings.HasPrefix(doc[end:], "\n") {
		end++
	}
	return doc[:begin] + section + doc[end:], nil
}
