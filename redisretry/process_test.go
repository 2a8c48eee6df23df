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

// The worker processes of the tests are this test binary, run again with
// workerEnv naming what it does (see workerMain).
const (
	workerEnv  = "REDISRETRY_TEST_WORKER" // "shared" or "local": the budget the worker retries with
	addrVar    = "REDISRETRY_TEST_ADDR"
	prefixVar  = "REDISRETRY_TEST_PREFIX"
	processes  = 8
	warmCalls  = 50  // successful calls before the outage: the leases fill up, the shared budget too
	storm      = 200 // calls in the outage, each with up to stormTries attempts
	stormTries = 4
	everyOK    = 10 // one call in everyOK succeeds during the outage
)

// The budget every worker shares (or has its own copy of, "local"), and
// its lease.
var (
	processBudget = retry.BudgetConfig{Capacity: 20, PerSuccess: 0.5}
	processLease  = 2.0
)

// workerReport is what a worker prints when its outage is over.
type workerReport struct {
	Retries  int     `json:"retries"`
	Deposits float64 `json:"deposits"` // tokens deposited during the outage
}

// workerMain is a worker process: it warms its budget up with successful
// calls, says "ready", waits for "go" on its standard input, then makes
// storm calls of a dependency that fails all but one call in everyOK, and
// prints what it retried and deposited.
func workerMain(mode string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "worker:", err); return 1 }
	if mode == "breaker-shared" || mode == "breaker-local" {
		if err := breakerWorker(mode); err != nil {
			return fail(err)
		}
		return 0
	}
	var b *retry.Budget
	var f *redisretry.Fleet
	var err error
	if mode == "shared" {
		c := redis.NewClient(&redis.Options{Addr: os.Getenv(addrVar), ContextTimeoutEnabled: true})
		defer c.Close()
		// A Timeout for a loaded test machine: eight processes under the
		// race detector on two cores must not fall back.
		if f, err = redisretry.New(c, redisretry.Options{Prefix: os.Getenv(prefixVar), Timeout: 2 * time.Second}); err != nil {
			return fail(err)
		}
		defer f.Close()
		b, err = f.Budget("dep", processBudget, redisretry.Lease(processLease))
	} else {
		b, err = retry.NewBudget(processBudget)
	}
	if err != nil {
		return fail(err)
	}
	p, err := retry.NewPolicy(retry.WithBudget(b), retry.WithMaxAttempts(stormTries), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	for range warmCalls {
		if _, err := retry.Do(ctx, succeeding, p); err != nil {
			return fail(err)
		}
	}
	if f != nil {
		if err := f.Sync(ctx); err != nil {
			return fail(err)
		}
	}
	fmt.Println("ready")
	if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil || line != "go\n" {
		return fail(fmt.Errorf("waiting for go: %q, %v", line, err))
	}
	var r workerReport
	for i := range storm {
		n := 0
		_, _ = retry.Do(ctx, func(context.Context) (int, error) {
			n++
			if i%everyOK == 0 {
				return 1, nil
			}
			return 0, errDown
		}, p)
		r.Retries += n - 1
		if i%everyOK == 0 {
			r.Deposits += processBudget.PerSuccess
		}
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return 0
}

// runWorkers runs processes workers of mode through the outage together
// and returns their reports.
func runWorkers(t *testing.T, mode, addr, prefix string) []workerReport {
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
	for _, w := range ws { // every lease is full and the shared budget too: the outage starts now
		_, err := io.WriteString(w.stdin, "go\n")
		require.NoError(t, err)
	}
	reports := make([]workerReport, processes)
	for i, w := range ws {
		require.True(t, w.out.Scan(), "worker %d did not report", i)
		require.NoError(t, json.Unmarshal(w.out.Bytes(), &reports[i]))
		require.NoError(t, w.cmd.Wait(), "worker %d", i)
	}
	return reports
}

// Eight processes share one budget through an outage: together they retry
// at most Capacity − Threshold, plus what they deposit during it, plus
// what their leases held when it began (the overshoot bound: processes ×
// lease), divided by the cost of a retry. With a budget each, the same
// processes retry far more.
func TestBudgetProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 16 processes")
	}
	addr := redisAddr(t)
	prefix := newPrefix(t, newClient(t, addr))

	sum := func(rs []workerReport) (retries int, deposits float64) {
		for _, r := range rs {
			retries += r.Retries
			deposits += r.Deposits
		}
		return retries, deposits
	}
	shared, deposits := sum(runWorkers(t, "shared", addr, prefix))
	bound := processBudget.Capacity - processBudget.Threshold + processes*processLease + deposits
	t.Logf("shared: %d retries, bound %v (capacity %v + %d processes × lease %v + deposits %v)",
		shared, bound, processBudget.Capacity, processes, processLease, deposits)
	assert.LessOrEqual(t, float64(shared), bound)
	assert.GreaterOrEqual(t, shared, int(processBudget.Capacity)-processes,
		"the fleet spends the shared budget, but for less than a retry left in each lease")

	local, _ := sum(runWorkers(t, "local", addr, prefix))
	t.Logf("a budget each: %d retries", local)
	assert.Greater(t, float64(local), bound, "without sharing the processes retry beyond the bound")
	assert.GreaterOrEqual(t, float64(local), processes*processBudget.Capacity, "each process spends its own capacity")
}
