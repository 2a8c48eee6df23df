package otelretry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/otelretry"
)

var (
	sinkInt int
	sinkErr error
	errBusy = errors.New("busy")
)

// providers returns a recording tracer provider that discards its spans and
// a meter provider with a reader, the set-up of a program that exports
// both.
func providers() (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())),
		sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
}

//go:noinline
func work(context.Context) (int, error) { return 42, nil }

// BenchmarkPlainOTel is the reference: one call instrumented by hand, a
// span around it and its duration recorded, without retries.
func BenchmarkPlainOTel(b *testing.B) {
	tp, mp := providers()
	tracer := tp.Tracer("bench")
	hist, err := mp.Meter("bench").Float64Histogram("call.duration", metric.WithUnit("s"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		sctx, span := tracer.Start(ctx, "call")
		sinkInt, sinkErr = work(sctx)
		span.End()
		hist.Record(ctx, time.Since(start).Seconds())
	}
}

// BenchmarkObserver: retry.Do with the otelretry observer, on a call that
// succeeds at once (one attempt) and on one that fails three times first
// (four attempts, zero waits); ns/attempt divides by the attempts.
func BenchmarkObserver(b *testing.B) {
	tp, mp := providers()
	obs, err := otelretry.New(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	p, err := retry.NewPolicy(retry.WithObserver(obs), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	run := func(b *testing.B, attempts int, op func(context.Context) (int, error)) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, p)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*attempts), "ns/attempt")
	}
	b.Run("1 attempt", func(b *testing.B) { run(b, 1, work) })
	b.Run("4 attempts", func(b *testing.B) {
		calls := 0
		run(b, 4, func(context.Context) (int, error) {
			if calls++; calls%4 != 0 {
				return 0, errBusy
			}
			return 42, nil
		})
	})
}
