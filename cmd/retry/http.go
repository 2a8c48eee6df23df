package main

import (
	"context"
	"fmt"
	"io"

	"github.com/retrykit/retry"
)

// runHTTP is replaced by the httpx-based implementation once the httpx
// package is merged; until then retry http reports that it is missing.
func runHTTP(_ context.Context, _ *config, _ *retry.Policy, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "retry: retry http needs the httpx package, which this build does not have yet")
	return exitFailure
}
