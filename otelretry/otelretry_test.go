package otelretry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/retrykit/retry/otelretry"
)

// telemetry is an in-memory trace and metric pipeline.
type telemetry struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t *testing.T) *telemetry {
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	return tel
}

func (tel *telemetry) observer(t *testing.T, opts ...otelretry.Option) *retry.Observer {
	t.Helper()
	o, err := otelretry.New(append([]otelretry.Option{otelretry.WithTracerProvider(tel.tp), otelretry.WithMeterProvider(tel.mp)}, opts...)...)
	require.NoError(t, err)
	return o
}

// metrics collects the metrics of the observer's scope, by name.
func (tel *telemetry) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelretry.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// unavailable answers 503 with Retry-After: 1 three times, then 200,
// after 250ms of virtual time each, and records the span in each
// request's context. (httpx asks the policy whether a Retry-After is to be
// obeyed; that question must not show up as spans or metrics.)
type unavailable struct {
	n     atomic.Int32
	spans []trace.SpanContext
}

// RoundTrip takes 250ms of virtual time: the transport is used only inside
// a synctest bubble.
func (u *unavailable) RoundTrip(r *http.Request) (*http.Response, error) {
	u.spans = append(u.spans, trace.SpanContextFromContext(r.Context()))
	time.Sleep(250 * time.Millisecond)
	code := http.StatusServiceUnavailable
	if u.n.Add(1) == 4 {
		code = http.StatusOK
	}
	h := http.Header{}
	if code != http.StatusOK {
		h.Set("Retry-After", "1")
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
}

// TestHTTPCallSucceedingOnTheFourthAttempt: four attempt spans under the
// caller's span, with resend counts 1 to 3 after the first, each the
// parent of what the attempt sends; the metrics, exactly.
func TestHTTPCallSucceedingOnTheFourthAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		rt := &unavailable{}
		obs := tel.observer(t, otelretry.ForHTTP(), otelretry.WithSpanName("GET"))
		client := &http.Client{Transport: httpx.NewTransport(rt,
			retry.WithMaxAttempts(4), retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter),
			retry.WithObserver(obs))}

		ctx, parent := tel.tp.Tracer("test").Start(context.Background(), "caller")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://api.test/", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		parent.End()
		assert.Equal(t, 200, resp.StatusCode)

		spans := tel.spans.GetSpans()
		require.Len(t, spans, 5)
		attempts, caller := spans[:4], spans[4]
		require.Equal(t, "caller", caller.Name)
		for i, s := range attempts {
			n := i + 1
			assert.Equal(t, "GET", s.Name)
			assert.Equal(t, trace.SpanKindInternal, s.SpanKind, "the Client span is the transport's")
			assert.Equal(t, caller.SpanContext.SpanID(), s.Parent.SpanID(), "attempt %d is a child of the caller's span", n)
			assert.Equal(t, s.SpanContext, rt.spans[i], "attempt %d sends under its span", n)
			assert.Equal(t, 250*time.Millisecond, s.EndTime.Sub(s.StartTime))
			attrs := attribute.NewSet(s.Attributes...)
			v, ok := attrs.Value(otelretry.AttemptKey)
			assert.True(t, ok)
			assert.Equal(t, int64(n), v.AsInt64())
			v, ok = attrs.Value(otelretry.ResendCountKey)
			if n == 1 {
				assert.False(t, ok, "the first attempt is not a resend")
			} else {
				assert.True(t, ok)
				assert.Equal(t, int64(n-1), v.AsInt64())
			}
			if n < 4 {
				assert.Equal(t, codes.Error, s.Status.Code)
				assert.Equal(t, "httpx: server answered Service Unavailable (Retry-After 1s)", s.Status.Description)
				v, _ = attrs.Value(otelretry.DecisionKey)
				assert.Equal(t, "retry", v.AsString())
			} else {
				assert.Equal(t, codes.Unset, s.Status.Code)
			}
		}

		m := tel.metrics(t)
		success := attribute.NewSet(otelretry.OutcomeKey.String("success"))
		metricdatatest.AssertEqual(t, metricdata.Metrics{
			Name: "retry.call.attempts", Description: "Attempts made by each call, recorded when it ends.", Unit: "{attempt}",
			Data: metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{{
				Attributes: success, Count: 1, Sum: 4, Bounds: []float64{1, 2, 3, 4, 5, 10}, BucketCounts: []uint64{0, 0, 0, 1, 0, 0, 0},
				Min: metricdata.NewExtrema[int64](4), Max: metricdata.NewExtrema[int64](4),
			}}},
		}, m["retry.call.attempts"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		delay := m["retry.call.retry_delay"].Data.(metricdata.Histogram[float64]).DataPoints
		require.Len(t, delay, 1)
		assert.Equal(t, success, delay[0].Attributes)
		assert.Equal(t, uint64(1), delay[0].Count)
		assert.Equal(t, 3.0, delay[0].Sum, "three waits of 1s")
		assert.Equal(t, []float64{0, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}, delay[0].Bounds, "seconds, up to 2 minutes")
		assert.Equal(t, []uint64{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, delay[0].BucketCounts, "3s is in (2.5, 5]")

		dur := m["retry.attempt.duration"].Data.(metricdata.Histogram[float64]).DataPoints
		require.Len(t, dur, 2)
		byDecision := map[string]metricdata.HistogramDataPoint[float64]{}
		for _, dp := range dur {
			v, _ := dp.Attributes.Value(otelretry.DecisionKey)
			byDecision[v.AsString()] = dp
		}
		assert.Equal(t, uint64(3), byDecision["retry"].Count)
		assert.Equal(t, []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}, byDecision["retry"].Bounds, "seconds")
		assert.Equal(t, []uint64{0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0}, byDecision["retry"].BucketCounts, "0.25s is in (0.1, 0.25]")
		assert.Equal(t, 0.75, byDecision["retry"].Sum)
		assert.Equal(t, uint64(1), byDecision["success"].Count)
		assert.Equal(t, 0.25, byDecision["success"].Sum)
		_, ok := m["retry.budget.denied"]
		assert.False(t, ok, "no refusal, no data point")
	})
}

// TestBudgetAndBreakerMetrics: a refusal counts once; a breaker that trips
// and recovers sets its state gauge; WithAttributes labels them all.
func TestBudgetAndBreakerMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		dep := attribute.String("server.address", "api.test")
		obs := tel.observer(t, otelretry.WithAttributes(dep))
		errA := errors.New("a")
		fail := func(context.Context) (int, error) { return 0, errA }

		budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
		require.NoError(t, err)
		_, err = retry.Do(context.Background(), fail, retry.WithBudget(budget), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(obs))
		require.ErrorIs(t, err, retry.ErrBudgetExhausted)

		breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute})
		require.NoError(t, err)
		p, err := retry.NewPolicy(retry.WithBreaker(breaker), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(obs))
		require.NoError(t, err)
		_, err = retry.Do(context.Background(), fail, p)
		require.ErrorIs(t, err, retry.ErrCircuitOpen)

		m := tel.metrics(t)
		metricdatatest.AssertEqual(t, metricdata.Metrics{
			Name: "retry.budget.denied", Description: "Retries the retry budget refused.", Unit: "{retry}",
			Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
				DataPoints: []metricdata.DataPoint[int64]{{Attributes: attribute.NewSet(dep), Value: 1}}},
		}, m["retry.budget.denied"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		state := func(s string) attribute.Set { return attribute.NewSet(dep, otelretry.BreakerKey.String(s)) }
		metricdatatest.AssertEqual(t, metricdata.Metrics{
			Name: "retry.breaker.state", Description: "1 for the state a circuit breaker entered, 0 for the one it left.", Unit: "{state}",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				{Attributes: state("closed"), Value: 0}, {Attributes: state("open"), Value: 1},
			}},
		}, m["retry.breaker.state"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

		attempts := m["retry.call.attempts"].Data.(metricdata.Histogram[int64]).DataPoints
		byOutcome := map[string]int64{}
		for _, dp := range attempts {
			v, _ := dp.Attributes.Value(otelretry.OutcomeKey)
			byOutcome[v.AsString()] = dp.Sum
			assert.True(t, dp.Attributes.HasValue("server.address"))
		}
		assert.Equal(t, map[string]int64{"budget": 2, "circuit_open": 1}, byOutcome)

		time.Sleep(time.Minute)
		_, err = retry.Do(context.Background(), func(context.Context) (int, error) { return 1, nil }, p)
		require.NoError(t, err)
		metricdatatest.AssertEqual(t, metricdata.Metrics{
			Name: "retry.breaker.state", Description: "1 for the state a circuit breaker entered, 0 for the one it left.", Unit: "{state}",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				{Attributes: state("closed"), Value: 1}, {Attributes: state("open"), Value: 0}, {Attributes: state("half-open"), Value: 0},
			}},
		}, tel.metrics(t)["retry.breaker.state"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	})
}
