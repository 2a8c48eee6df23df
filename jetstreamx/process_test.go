package jetstreamx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// The worker processes of the tests are this test binary, run again with
// workerEnv naming what it works (see workerMain).
const (
	workerEnv  = "JETSTREAMX_TEST_WORKER" // "kill" or "outage"
	urlEnv     = "JETSTREAMX_TEST_URL"
	streamEnv  = "JETSTREAMX_TEST_STREAM" // the fixture's stream: its consumer, buckets
	durableEnv = "JETSTREAMX_TEST_DURABLE"
	hangEnv    = "JETSTREAMX_TEST_HANG"   // "1": a kill worker hangs in its handler
	untilEnv   = "JETSTREAMX_TEST_OUTAGE" // RFC 3339: the dependency fails until then
)

// The budget of each outage worker process.
var outageBudget = retry.BudgetConfig{Capacity: 20, PerSecond: 25, PerSuccess: 0.5}

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		os.Exit(workerMain(mode))
	}
	os.Exit(m.Run())
}

// processStats is what an outage worker process prints when it stops.
type processStats struct {
	Allowed, Denied uint64 // the budget's grants and refusals
	Runs            int64  // handler runs
	Retries         int64  // attempts after a message's first
	RetriesDuring   int64  // of which started during the outage
	Successes       int64
	Seconds         float64
}

// workerMain consumes the test's consumer in this process until SIGTERM,
// and returns the process's exit code. Its handler prints "run <seq>
// <delivered>" for each run, hangs when told to (the process is killed
// there), and writes its effect idempotently: a key per message, created
// once, in the bucket "<stream>-effects".
func workerMain(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	begun := time.Now()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 2 }
	nc, err := nats.Connect(os.Getenv(urlEnv))
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fail(err)
	}
	stream := os.Getenv(streamEnv)
	progress, err := js.KeyValue(ctx, stream+"-progress")
	if err != nil {
		return fail(err)
	}
	effects, err := js.KeyValue(ctx, stream+"-effects")
	if err != nil {
		return fail(err)
	}
	cons, err := js.Consumer(ctx, stream, os.Getenv(durableEnv))
	if err != nil {
		return fail(err)
	}
	until, _ := time.Parse(time.RFC3339Nano, os.Getenv(untilEnv))
	var st processStats
	opts := []retry.Option{retry.WithBackoff(retry.Exponential(50*time.Millisecond, 2)), retry.WithMaxAttempts(0),
		retry.WithObserver(&retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if mode == "kill" {
				fmt.Printf("attempt %d\n", e.Attempt)
			}
			if e.Attempt > 1 {
				atomic.AddInt64(&st.Retries, 1)
				if time.Now().Before(until) {
					atomic.AddInt64(&st.RetriesDuring, 1)
				}
			}
			return ctx
		}})}
	var budget *retry.Budget
	if mode == "outage" {
		if budget, err = retry.NewBudget(outageBudget); err != nil {
			return fail(err)
		}
		opts = append(opts, retry.WithBudget(budget))
	}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: progress, Defer: time.Second}, opts...)
	if err != nil {
		return fail(err)
	}
	h, err := r.Handler(ctx, cons, func(ctx context.Context, msg jetstream.Msg) error {
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		atomic.AddInt64(&st.Runs, 1)
		if mode == "kill" {
			fmt.Printf("run %d %d\n", meta.Sequence.Stream, meta.NumDelivered)
		}
		if os.Getenv(hangEnv) == "1" {
			<-ctx.Done() // killed here
			return ctx.Err()
		}
		if time.Now().Before(until) {
			return errFlaky
		}
		_, err = effects.Create(ctx, "effect."+strconv.FormatUint(meta.Sequence.Stream, 10), []byte(strconv.Itoa(os.Getpid())))
		if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		atomic.AddInt64(&st.Successes, 1)
		return nil
	})
	if err != nil {
		return fail(err)
	}
	cc, err := cons.Consume(h, jetstream.PullMaxMessages(50))
	if err != nil {
		return fail(err)
	}
	fmt.Println("started")
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	if budget != nil {
		s := budget.Stats()
		st.Allowed, st.Denied, st.Seconds = s.Allowed, s.Denied, time.Since(begun).Seconds()
		b, _ := json.Marshal(&st)
		fmt.Println(string(b))
	}
	return 0
}

// process is a worker process started by a test.
type process struct {
	cmd   *exec.Cmd
	lines chan string // its standard output, line by line
}

// startWorker starts a worker process of mode on the fixture's stream and
// consumer durable, with env added to its environment, and waits until it
// consumes. The process is killed when the test ends, if it still runs.
func startWorker(t *testing.T, url, mode string, f *fixture, durable string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{workerEnv + "=" + mode, urlEnv + "=" + url,
		streamEnv + "=" + f.name, durableEnv + "=" + durable}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	select {
	case line := <-p.lines:
		require.Equal(t, "started", line)
	case <-time.After(30 * time.Second):
		t.Fatal("the worker process did not start")
	}
	return p
}

// next returns the process's next line of output.
func (p *process) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		require.True(t, ok, "the process ended")
		return line
	case <-time.After(30 * time.Second):
		t.Fatal("the worker process printed nothing")
		return ""
	}
}

// stop ends the process with SIGTERM (its consumer drains) and returns the
// lines it printed that were not read yet.
func (p *process) stop(t *testing.T) []string {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	var lines []string
	for line := range p.lines {
		lines = append(lines, line)
	}
	require.NoError(t, p.cmd.Wait())
	return lines
}

// A worker process killed (SIGKILL) in the middle of a message: once
// AckWait passes without its keep-alive, the server delivers the message
// to another worker process; the policy counts the lost run as attempt 1,
// and the message runs there as attempt 2 and completes once: one effect,
// written by the second process.
func TestKilledWorkerMessageRunsElsewhereOnce(t *testing.T) {
	url := serverURL(t)
	js := connectTo(t, url)
	f := newFixture(t, js)
	effects, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: f.name + "-effects"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteKeyValue(context.Background(), f.name+"-effects") })
	cons := f.consumer(t, jetstream.ConsumerConfig{AckWait: time.Second})
	durable := cons.CachedInfo().Name

	a := startWorker(t, url, "kill", f, durable, hangEnv+"=1")
	seq := f.publish(t, "charge")
	require.Equal(t, "attempt 1", a.next(t))
	require.Equal(t, fmt.Sprintf("run %d 1", seq), a.next(t))
	require.NoError(t, a.cmd.Process.Kill())
	_ = a.cmd.Wait()

	b := startWorker(t, url, "kill", f, durable)
	waitSettled(t, cons)
	e, err := effects.Get(context.Background(), fmt.Sprintf("effect.%d", seq))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(b.cmd.Process.Pid), string(e.Value()), "the effect, by the second process")
	keys, err := effects.ListKeys(context.Background())
	require.NoError(t, err)
	var n int
	for range keys.Keys() {
		n++
	}
	require.Equal(t, 1, n, "one effect")
	require.Equal(t, []string{"attempt 2", fmt.Sprintf("run %d 2", seq)}, b.stop(t),
		"the lost run counts as the policy's attempt 1; the second process ran the message once")
	info, err := cons.Info(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 0, info.NumAckPending)
}
