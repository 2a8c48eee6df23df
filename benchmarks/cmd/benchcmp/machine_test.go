package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCPUModel(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	assert.Equal(t, "AMD EPYC 7B13", CPUModel(strings.NewReader(cpuinfo)))
	// arm64 kernels print no model name.
	assert.Equal(t, "", CPUModel(strings.NewReader("processor\t: 0\nBogoMIPS\t: 50.00\n")))
}

func TestParseProcStat(t *testing.T) {
	stat := "cpu  100 20 30 1000 5 1 2 7 0 0\ncpu0 50 10 15 500 2 0 1 3 0 0\nintr 1\n"
	got, ok := ParseProcStat(strings.NewReader(stat))
	assert.True(t, ok)
	tick := time.Second / userHz
	assert.Equal(t, CPUTimes{Busy: (100 + 20 + 30 + 1 + 2) * tick, Steal: 7 * tick}, got)

	for _, bad := range []string{"", "cpu 1 2 3\n", "cpu a 1 1 1 1 1 1 1\n", "cpu -1 1 1 1 1 1 1 1\n"} {
		_, ok := ParseProcStat(strings.NewReader(bad))
		assert.False(t, ok, "%q", bad)
	}
}
