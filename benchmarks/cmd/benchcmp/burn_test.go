package main

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMain lets this test binary act as the burner, as the command's own
// binary does, so that the tests start a real burner process.
func TestMain(m *testing.M) {
	if os.Getenv(spinEnv) != "" {
		spin(os.Stdin, os.Stdout)
		return
	}
	// Burners started by these tests are this binary; under -race they
	// would sleep a second on exit without this.
	if err := os.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE")); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// TestBurner starts a real burner: it reports that it spins and stays
// alive until Stop, which ends it cleanly (exit status 0, not killed).
func TestBurner(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	b, err := startBurner(exe)
	require.NoError(t, err)
	require.NoError(t, b.cmd.Process.Signal(syscall.Signal(0)), "the burner is running")
	require.NoError(t, b.Stop())
	require.True(t, b.cmd.ProcessState.Exited())
	require.Equal(t, 0, b.cmd.ProcessState.ExitCode())
}

// TestStartBurners starts two burners and stops both; none is left.
func TestStartBurners(t *testing.T) {
	stop, err := startBurners(0)
	require.NoError(t, err)
	require.NoError(t, stop())
	stop, err = startBurners(2)
	require.NoError(t, err)
	require.NoError(t, stop())
}

// TestBurnerThatDoesNotStart: a program that is not a burner is reported.
func TestBurnerThatDoesNotStart(t *testing.T) {
	_, err := startBurner("/bin/true")
	require.ErrorContains(t, err, "did not start")
}
