package redisretry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// The shared breaker of the breaker workers, and the fleet's timing. Each
// worker fails breakerFailures times: no process reaches the threshold
// alone, the fleet does.
const (
	breakerFailures = 2
	breakerSync     = 50 * time.Millisecond
	breakerTimeout  = time.Second // a loaded test machine
	probeWindow     = 1600 * time.Millisecond
)

var workerBreaker = retry.BreakerConfig{FailureThreshold: 12, RecoveryTimeout: time.Second, HalfOpenProbes: 2}

// breakerDelay is the documented bound on how long after the failure
// that crosses a rule every process sees its breaker open: two exchanges
// and their deadlines.
const breakerDelay = 2 * (breakerSync + breakerTimeout)

type breakerReport struct {
	OpenAfter time.Duration `json:"open_after"` // from the "fail" line to this process's breaker open
	Probes    int           `json:"probes"`     // attempts run in the probe window
}

// breakerWorker: "ready"; on "fail", fails its attempts and waits for its
// breaker to open; then, for probeWindow, calls the dependency (still
// down) every 2ms through the breaker and counts the attempts that ran:
// the probes.
func breakerWorker(mode string) error {
	cfg := workerBreaker
	var br *retry.Breaker
	var err error
	if mode == "breaker-shared" {
		c := redis.NewClient(&redis.Options{Addr: os.Getenv(addrVar), ContextTimeoutEnabled: true})
		defer c.Close()
		f, err := redisretry.New(c, redisretry.Options{Prefix: os.Getenv(prefixVar), SyncInterval: breakerSync, Timeout: breakerTimeout})
		if err != nil {
			return err
		}
		defer f.Close()
		br, err = f.Breaker("dep", cfg)
		if err != nil {
			return err
		}
	} else {
		cfg.FailureThreshold = breakerFailures // alone, each process trips itself
		if br, err = retry.NewBreaker(cfg); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	if line, err := in.ReadString('\n'); err != nil || line != "fail\n" {
		return fmt.Errorf("waiting for fail: %q, %v", line, err)
	}
	start := time.Now()
	ctx := context.Background()
	down := func(context.Context) error { return errDown }
	for range breakerFailures {
		_ = br.Run(ctx, down)
	}
	for br.State() == retry.BreakerClosed {
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("the breaker did not open within 30s")
		}
		<-time.After(time.Millisecond)
	}
	r := breakerReport{OpenAfter: time.Since(start)}
	end := time.Now().Add(probeWindow)
	for time.Now().Before(end) {
		_ = br.Run(ctx, func(ctx context.Context) error { r.Probes++; return down(ctx) })
		<-time.After(2 * time.Millisecond)
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return nil
}

func runBreakerWorkers(t *testing.T, mode, addr, prefix string) []breakerReport {
	t.Helper()
	type worker struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Scanner
	}
	ws := make([]worker, processes)
	for i := range ws {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), workerEnv+"="+mode, addrVar+"="+addr, prefixVar+"="+prefix)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		ws[i] = worker{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	}
	for i, w := range ws {
		require.True(t, w.out.Scan(), "worker %d did not get ready", i)
		require.Equal(t, "ready", w.out.Text())
	}
	for _, w := range ws {
		_, err := io.WriteString(w.stdin, "fail\n")
		require.NoError(t, err)
	}
	reports := make([]breakerReport, processes)
	for i, w := range ws {
		require.True(t, w.out.Scan(), "worker %d did not report", i)
		require.NoError(t, json.Unmarshal(w.out.Bytes(), &reports[i]))
		require.NoError(t, w.cmd.Wait(), "worker %d", i)
	}
	return reports
}

// Eight processes fail twice each: none reaches the threshold of 12
// alone, the fleet does, and every process's breaker opens within the
// documented delay. In the half-open state that follows, the whole fleet
// runs HalfOpenProbes probes; eight breakers of their own run eight times
// as many.
func TestBreakerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes")
	}
	addr := redisAddr(t)
	prefix := newPrefix(t, newClient(t, addr))
	shared := runBreakerWorkers(t, "breaker-shared", addr, prefix)
	probes := 0
	for i, r := range shared {
		t.Logf("process %d: open after %v, %d probes", i, r.OpenAfter, r.Probes)
		assert.LessOrEqual(t, r.OpenAfter, breakerDelay+time.Second, "process %d: open within the documented delay (plus the time to fail)", i)
		probes += r.Probes
	}
	assert.LessOrEqual(t, probes, workerBreaker.HalfOpenProbes, "probes fleet-wide")
	assert.GreaterOrEqual(t, probes, 1, "the fleet probed")

	local := 0
	for _, r := range runBreakerWorkers(t, "breaker-local", addr, prefix) {
		local += r.Probes
	}
	t.Logf("probes: %d shared, %d with a breaker each", probes, local)
	assert.Greater(t, local, workerBreaker.HalfOpenProbes)
}
