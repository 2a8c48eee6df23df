package sim

import (
	"testing"
	"time"

	"github.com/retrykit/retry"
)

// BenchmarkOpen runs the metastable stall (100 clients, 700 requests/s,
// 135 s of virtual time, about 270,000 attempts without a budget) and
// reports simulated attempts per second of real time and of CPU time.
func BenchmarkOpen(b *testing.B) {
	for _, bc := range []struct {
		name   string
		budget *retry.BudgetConfig
	}{{"no-budget", nil}, {"grpc-budget", grpcBudget}} {
		b.Run(bc.name, func(b *testing.B) {
			f := Fleet{Policy: policy3(b, retry.FullJitter), Budget: bc.budget}
			b.ReportAllocs()
			var attempts int64
			start, cpu := time.Now(), cpuTime()
			for b.Loop() {
				r, err := Metastable().Run(f)
				if err != nil {
					b.Fatal(err)
				}
				attempts += r.Summary.Attempts
			}
			report(b, float64(attempts), start, cpu)
		})
	}
}

// BenchmarkOCC runs one trial of Brooker's contention at N = 100 with full
// jitter and reports simulated attempts (writes) per second.
func BenchmarkOCC(b *testing.B) {
	f := Fleet{Policy: brookerPolicy(b, retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)))}
	b.ReportAllocs()
	var calls float64
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		r, err := OCC{Clients: 100, Trials: 1}.Run(f)
		if err != nil {
			b.Fatal(err)
		}
		calls += r.Calls
	}
	report(b, calls, start, cpu)
}

// report gives the rate of simulated attempts per second of wall-clock
// time and, where it is measured, per second of the process's CPU time.
func report(b *testing.B, attempts float64, start time.Time, cpu time.Duration) {
	b.ReportMetric(attempts/time.Since(start).Seconds(), "attempts/s")
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(attempts/used.Seconds(), "attempts/cpu-s")
	}
}
