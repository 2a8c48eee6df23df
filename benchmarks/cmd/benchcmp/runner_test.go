package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindResult(t *testing.T) {
	out := "goos: linux\ngoarch: amd64\npkg: github.com/retrykit/retry/benchmarks\ncpu: AMD EPYC\n" +
		"BenchmarkRetry3/lib=retrykit-2   \t 5962104\t       199.6 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"PASS\nok  \tgithub.com/retrykit/retry/benchmarks\t1.4s\n"
	r, err := findResult(out, "Retry3/lib=retrykit")
	require.NoError(t, err)
	assert.Equal(t, 199.6, r.Metrics["ns/op"])

	_, err = findResult(out, "Retry3/lib=backoff")
	require.ErrorContains(t, err, "0 result lines")
	_, err = findResult(out+"BenchmarkRetry3/lib=retrykit-2 1 1 ns/op\n", "Retry3/lib=retrykit")
	require.ErrorContains(t, err, "2 result lines")
	_, err = findResult("BenchmarkRetry3/lib=retrykit-2 1 NaN ns/op\n", "Retry3/lib=retrykit")
	require.ErrorIs(t, err, errMalformed)
}
