package main

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		stat  string
		state byte
		pgrp  int
		ok    bool
	}{
		{"1234 (sleep) S 1 1234 1234 0 -1 4194560 ...", 'S', 1234, true},
		{"77 (a (b) c) Z 1 70 70 0", 'Z', 70, true}, // a name with spaces and parentheses
		{"5 () R 1 5", 'R', 5, true},
		{"5 (x) R 1", 0, 0, false},
		{"5 (x) RS 1 5", 0, 0, false},
		{"5 x S 1 5", 0, 0, false},
		{"5 (x) S 1 five", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		state, pgrp, ok := parseStat([]byte(tt.stat))
		assert.Equal(t, tt.ok, ok, "%q", tt.stat)
		assert.Equal(t, tt.state, state, "%q", tt.stat)
		assert.Equal(t, tt.pgrp, pgrp, "%q", tt.stat)
	}
}

func FuzzParseStat(f *testing.F) {
	for _, s := range []string{"1234 (sleep) S 1 1234 1234 0", "77 (a (b) c) Z 1 70 70", ") S 1 2", "((( R 1 -3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stat []byte) {
		state, pgrp, ok := parseStat(stat)
		if !ok && (state != 0 || pgrp != 0) {
			t.Fatalf("parseStat(%q) = %q, %d, false: want zeros", stat, state, pgrp)
		}
	})
}

// TestGroupRuns: a process group counts while a process of it runs, and
// not once its last process is a zombie nobody has waited for yet.
func TestGroupRuns(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	assert.True(t, groupRuns(pgid))
	assert.True(t, groupAlive(pgid))
	require.NoError(t, cmd.Process.Kill())
	// Not waited for: a zombie, which kill(-pgid, 0) still finds. The
	// loop waits for SIGKILL to be delivered (the test's deadline bounds it).
	for groupRuns(pgid) {
		runtime.Gosched()
	}
	assert.NoError(t, syscall.Kill(-pgid, 0), "the zombie is still in its group")
	assert.False(t, groupAlive(pgid), "but it does not count")
	_ = cmd.Wait()
	assert.False(t, groupAlive(pgid))
}
