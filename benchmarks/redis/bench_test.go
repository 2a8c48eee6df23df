package redisbench

import (
	"bufio"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// calls is the number of calls each iteration makes.
const calls = 10_000

var errDown = errors.New("bench: dependency failed")

// server starts a redis-server of the benchmark's own on a free loopback
// port, so that nothing else's commands are counted, and returns a client
// of it.
func server(b *testing.B) *redis.Client {
	b.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("redis-server is not installed")
		}
		b.Skip("redis-server is not on PATH: install Redis to run these benchmarks")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			b.Fatal("redis-server did not start")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return c
}

// commandStats returns the calls of every command the server counted, by
// name ("evalsha", "get", …), from INFO commandstats.
func commandStats(b *testing.B, c *redis.Client) map[string]int64 {
	b.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		m[name] = n
	}
	return m
}

// report sets the metrics of the commands counted between before and
// after, per 10,000 calls: trips are the commands clients sent, cmds all
// the server ran (a script's own calls included).
func report(b *testing.B, before, after map[string]int64, trips func(name string) bool, elapsed time.Duration) {
	var t, all int64
	for name, n := range after {
		d := n - before[name]
		if name == "info" || d == 0 {
			continue
		}
		all += d
		if trips(name) {
			t += d
		}
	}
	iters := float64(b.N)
	b.ReportMetric(float64(t)/iters, "trips/10k-calls")
	b.ReportMetric(float64(all)/iters, "cmds/10k-calls")
	b.ReportMetric(float64(calls)*iters/elapsed.Seconds(), "calls/s")
}

// failing returns an operation whose attempts fail with probability p.
func failing(p float64, r *rand.Rand) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		if r.Float64() < p {
			return 0, errDown
		}
		return 1, nil
	}
}

// BenchmarkCommands makes 10,000 calls per iteration whose attempts fail
// at a rate, through redisretry's shared budget and breaker (Do with up to
// 4 attempts, no wait), and through gobreaker v2's DistributedCircuitBreaker (one
// attempt per call), each on a Redis of its own. The "paced" runs make a
// call about every 100µs (a pause of 1ms every 10 calls), so that the
// fleet's periodic exchanges happen as they would in a service: the
// others run as fast as they can.
func BenchmarkCommands(b *testing.B) {
	for _, rate := range []float64{0.01, 0.5} {
		name := strconv.FormatFloat(rate*100, 'f', -1, 64) + "pct"
		b.Run("redisretry/"+name, func(b *testing.B) { redisretryCommands(b, rate, false) })
		b.Run("redisretry-paced/"+name, func(b *testing.B) { redisretryCommands(b, rate, true) })
		b.Run("gobreaker/"+name, func(b *testing.B) { gobreakerCommands(b, rate) })
	}
}

func redisretryCommands(b *testing.B, rate float64, paced bool) {
	c := server(b)
	f, err := redisretry.New(c, redisretry.Options{Timeout: time.Second}) // a loaded machine must not fall back
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	budget, err := f.Budget("bench", retry.BudgetConfig{Capacity: 100, PerSuccess: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	// A threshold the failures do not reach in a row: the breaker stays
	// closed, and its exchanges are the periodic ones.
	br, err := f.Breaker("bench", retry.BreakerConfig{FailureThreshold: 1000})
	if err != nil {
		b.Fatal(err)
	}
	p, err := retry.NewPolicy(retry.WithBudget(budget), retry.WithBreaker(br), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		b.Fatal(err)
	}
	op := failing(rate, rand.New(rand.NewPCG(1, 2)))
	ctx := context.Background()
	before := commandStats(b, c)
	start := time.Now()
	for b.Loop() {
		for i := range calls {
			_, _ = retry.Do(ctx, op, p)
			if paced && i%10 == 9 {
				time.Sleep(time.Millisecond)
			}
		}
		if err := f.Sync(ctx); err != nil { // what is left goes too
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	report(b, before, commandStats(b, c), func(n string) bool { return strings.HasPrefix(n, "eval") || n == "script|load" }, elapsed)
}

func gobreakerCommands(b *testing.B, rate float64) {
	c := server(b)
	cb, err := gobreaker.NewDistributedCircuitBreaker[int](gobreakerStore{c}, gobreaker.Settings{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	op := failing(rate, rand.New(rand.NewPCG(1, 2)))
	ctx := context.Background()
	before := commandStats(b, c)
	start := time.Now()
	for b.Loop() {
		for range calls {
			_, _ = cb.Execute(func() (int, error) { return op(ctx) })
		}
	}
	elapsed := time.Since(start)
	report(b, before, commandStats(b, c), func(string) bool { return true }, elapsed)
}
