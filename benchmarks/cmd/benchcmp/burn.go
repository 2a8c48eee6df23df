package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"
)

// spinEnv, set in a process's environment, makes this command (or its
// test binary) a CPU burner instead: see spin.
const spinEnv = "BENCHCMP_SPIN"

// spin keeps one CPU busy until its standard input ends (the parent closed
// it, or died), then returns. It prints "spinning" once the busy loop has
// started, so that the parent knows the CPU is taken.
func spin(stdin io.Reader, stdout io.Writer) {
	var done atomic.Bool
	started := make(chan struct{})
	go func() {
		close(started)
		for !done.Load() {
		}
	}()
	<-started
	fmt.Fprintln(stdout, "spinning")
	_, _ = io.Copy(io.Discard, stdin)
	done.Store(true)
}

// stopGrace is how long Stop waits for a burner to end by itself. A burner
// built with -race sleeps a second on exit (the race detector's
// atexit_sleep_ms), and a loaded machine adds its own delay.
const stopGrace = 10 * time.Second

// Burner is a process that keeps one CPU busy, so that a run measures what
// a machine whose other core is taken gives. Start it with startBurner,
// stop it with Stop.
type Burner struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startBurner starts exe (this command's own binary) as a burner and
// returns once it spins. The burner also ends if this process dies: its
// standard input is a pipe from here.
func startBurner(exe string) (*Burner, error) {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), spinEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the CPU burner: %w", err)
	}
	b := &Burner{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "spinning" {
		_ = b.Stop()
		return nil, fmt.Errorf("the CPU burner did not start: %q, %v", line, err)
	}
	return b, nil
}

// Stop ends the burner and waits for it: it closes its standard input and
// kills it if it has not ended within stopGrace.
func (b *Burner) Stop() error {
	_ = b.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(stopGrace):
		_ = b.cmd.Process.Kill()
		return errors.Join(errors.New("the CPU burner did not stop: killed"), <-done)
	}
}
