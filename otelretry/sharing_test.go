package otelretry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/otelretry"
)

// Sharing events (a limit shared by a fleet stops sharing, or shares
// again) set the retry.limit.shared gauge of that limit, count the
// fallbacks in retry.limit.fallbacks, and become span events on the span
// of the event's context when one is recording.
func TestSharingMetricsAndSpanEvents(t *testing.T) {
	tel := newTelemetry(t)
	dep := attribute.String("server.address", "api.test")
	obs := tel.observer(t, otelretry.WithAttributes(dep))
	require.NotNil(t, obs.Sharing)
	down := errors.New("redis: connection refused")
	ctx, span := tel.tp.Tracer("test").Start(context.Background(), "caller")
	for _, e := range []retry.SharingInfo{
		{Kind: "budget", Name: "payments", Shared: false, Err: down},
		{Kind: "breaker", Name: "payments", Shared: false, Err: down},
		{Kind: "budget", Name: "payments", Shared: true},
		{Kind: "budget", Name: "payments", Shared: false}, // no error: no error attribute
	} {
		obs.Sharing(ctx, e)
	}
	obs.Sharing(context.Background(), retry.SharingInfo{Kind: "breaker", Name: "payments", Shared: true}) // no span: metrics only
	span.End()

	limit := func(kind string) attribute.Set {
		return attribute.NewSet(dep, otelretry.LimitKindKey.String(kind), otelretry.LimitNameKey.String("payments"))
	}
	m := tel.metrics(t)
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: "retry.limit.shared", Unit: "1",
		Description: "1 while a budget or breaker shared by a fleet shares its state, 0 while it decides alone.",
		Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: limit("budget"), Value: 0}, {Attributes: limit("breaker"), Value: 1},
		}},
	}, m["retry.limit.shared"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metricdatatest.AssertEqual(t, metricdata.Metrics{
		Name: "retry.limit.fallbacks", Unit: "{fallback}",
		Description: "Times a budget or breaker shared by a fleet stopped sharing and decided alone.",
		Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[int64]{{Attributes: limit("budget"), Value: 2}, {Attributes: limit("breaker"), Value: 1}}},
	}, m["retry.limit.fallbacks"], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	spans := tel.spans.GetSpans()
	require.Len(t, spans, 1)
	type event struct {
		name  string
		attrs []attribute.KeyValue
	}
	var got []event
	for _, e := range spans[0].Events {
		got = append(got, event{e.Name, e.Attributes})
	}
	kind, name := otelretry.LimitKindKey, otelretry.LimitNameKey.String("payments")
	assert.Equal(t, []event{
		{"retry.limit.fallback", []attribute.KeyValue{kind.String("budget"), name, otelretry.LimitErrorKey.String(down.Error())}},
		{"retry.limit.fallback", []attribute.KeyValue{kind.String("breaker"), name, otelretry.LimitErrorKey.String(down.Error())}},
		{"retry.limit.rejoined", []attribute.KeyValue{kind.String("budget"), name}},
		{"retry.limit.fallback", []attribute.KeyValue{kind.String("budget"), name}},
	}, got)
}

// Before any Sharing event there is no data point: a process without a
// fleet reports no retry.limit metrics.
func TestSharingNoEventNoMetric(t *testing.T) {
	tel := newTelemetry(t)
	_ = tel.observer(t)
	m := tel.metrics(t)
	assert.NotContains(t, m, "retry.limit.shared")
	assert.NotContains(t, m, "retry.limit.fallbacks")
}
