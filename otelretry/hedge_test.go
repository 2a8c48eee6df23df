package otelretry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/otelretry"
)

// TestHedgedCall: the first copy is stuck, the hedge wins. Two attempt
// spans: the hedge's with retry.hedge=true and no error, the first's with
// decision "lost" and no error status; one retry.call.hedges measurement.
func TestHedgedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel := newTelemetry(t)
		p, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 2), retry.WithObserver(tel.observer(t)))
		require.NoError(t, err)
		var n atomic.Int32
		v, err := retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
			if n.Add(1) == 1 {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			time.Sleep(5 * time.Millisecond)
			return 2, nil
		}, p)
		require.NoError(t, err)
		assert.Equal(t, 2, v)

		spans := tel.spans.GetSpans()
		require.Len(t, spans, 2)
		byAttempt := map[int64]map[string]any{}
		status := map[int64]codes.Code{}
		for _, s := range spans {
			attrs := map[string]any{}
			for _, kv := range s.Attributes {
				attrs[string(kv.Key)] = kv.Value.AsInterface()
			}
			a := attrs[string(otelretry.AttemptKey)].(int64)
			byAttempt[a], status[a] = attrs, s.Status.Code
		}
		assert.Equal(t, true, byAttempt[2][string(otelretry.HedgeKey)])
		assert.NotContains(t, byAttempt[2], string(otelretry.DecisionKey), "the winner")
		assert.NotContains(t, byAttempt[1], string(otelretry.HedgeKey))
		assert.Equal(t, "lost", byAttempt[1][string(otelretry.DecisionKey)])
		assert.Equal(t, codes.Unset, status[1], "a lost copy was cancelled by the call: no error")

		m := tel.metrics(t)
		hedges := m["retry.call.hedges"].Data.(metricdata.Histogram[int64]).DataPoints
		require.Len(t, hedges, 1)
		assert.Equal(t, uint64(1), hedges[0].Count)
		assert.Equal(t, int64(1), hedges[0].Sum)
		durations := m["retry.attempt.duration"].Data.(metricdata.Histogram[float64]).DataPoints
		decisions := map[string]uint64{}
		for _, dp := range durations {
			d, _ := dp.Attributes.Value(otelretry.DecisionKey)
			decisions[d.AsString()] += dp.Count
		}
		assert.Equal(t, map[string]uint64{"success": 1, "lost": 1}, decisions)
	})
}
