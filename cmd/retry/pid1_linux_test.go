package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPID1ReapsOrphans: as PID 1 (a container's entrypoint without an
// init), retry reaps the processes of an attempt that outlived its parent:
// the timed-out attempt's sleeps, orphaned when their shell died, are no
// zombies when the next attempt looks. It runs retry in a PID namespace of
// its own (unshare).
func TestPID1ReapsOrphans(t *testing.T) {
	unshare := []string{"unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(unshare[0], append(unshare[1:], "true")...).CombinedOutput(); err != nil {
		msg := "cannot run retry as PID 1 here: " + strings.Join(unshare, " ") + " true: " + strings.TrimSpace(string(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	zombies := `grep -l '^[0-9]* ([^)]*) Z' /proc/[0-9]*/stat | wc -l`
	script := `if [ -e started ]; then ` + zombies + `; exit 0; fi; touch started; sleep 60 & sleep 60; true`
	cmd := exec.CommandContext(t.Context(), unshare[0], append(unshare[1:], binary, "-attempts", "2", "-attempt-timeout", startTimeout,
		"-backoff", "constant", "-delay", "0", "--", "sh", "-c", script)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "0", strings.TrimSpace(string(out)), "zombies in the namespace when attempt 2 starts")
}
