package otelretry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/otelretry"
)

// TestCallerSpanIsNeverEnded: an AttemptEnd with a context this observer
// did not start an attempt span in (a hook called with the caller's
// context) leaves the caller's span running, and a caller-driven attempt
// reported to Failed without Begin is refused before any hook hears of it.
func TestCallerSpanIsNeverEnded(t *testing.T) {
	tel := newTelemetry(t)
	obs := tel.observer(t)
	p, err := retry.NewPolicy(retry.WithMaxAttempts(2), retry.WithObserver(obs))
	require.NoError(t, err)
	ctx, caller := tel.tp.Tracer("test").Start(context.Background(), "caller")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	v := p.Failed(ctx, retry.Progress{}, errors.New("a"), now)
	require.ErrorIs(t, v.Err, retry.ErrInvalidConfig)
	obs.AttemptEnd(ctx, retry.AttemptEndInfo{Attempt: 1, Err: errors.New("a")})
	assert.True(t, caller.IsRecording(), "the caller's span is still running")
	assert.Empty(t, tel.spans.GetSpans())

	actx, pr, err := p.Begin(ctx, v.Next, now)
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(actx, pr, now))
	caller.End()
	spans := tel.spans.GetSpans()
	require.Len(t, spans, 2)
	assert.Equal(t, "retry.attempt", spans[0].Name)
	assert.Equal(t, "caller", spans[1].Name)
}

// TestPanickingAttemptSpanEnds: an attempt whose operation panics has its
// span ended, with the status Error and the decision "panic", and the
// panic reaches the caller.
func TestPanickingAttemptSpanEnds(t *testing.T) {
	tel := newTelemetry(t)
	obs := tel.observer(t)
	assert.PanicsWithValue(t, "boom", func() {
		_ = retry.Run(context.Background(), func(context.Context) error { panic("boom") }, retry.WithObserver(obs))
	})
	spans := tel.spans.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, codes.Error, spans[0].Status.Code)
	assert.Equal(t, "retry: the attempt panicked", spans[0].Status.Description)
	attrs := attribute.NewSet(spans[0].Attributes...)
	v, _ := attrs.Value(otelretry.DecisionKey)
	assert.Equal(t, "panic", v.AsString())
	m := tel.metrics(t)
	require.Contains(t, m, "retry.call.attempts")
	h := m["retry.call.attempts"].Data.(metricdata.Histogram[int64])
	require.Len(t, h.DataPoints, 1)
	o, _ := h.DataPoints[0].Attributes.Value(otelretry.OutcomeKey)
	assert.Equal(t, "panic", o.AsString())
}

// TestFailedCallSpans: every attempt span carries the WithAttributes set;
// the last attempt of a call that gives up has the status Error and the
// decision that ended the call, the others "retry".
func TestFailedCallSpans(t *testing.T) {
	tel := newTelemetry(t)
	dep := attribute.String("server.address", "api.test")
	obs := tel.observer(t, otelretry.WithAttributes(dep))
	err := retry.Run(context.Background(), func(context.Context) error { return errors.New("down") },
		retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(obs))
	require.ErrorIs(t, err, retry.ErrExhausted)
	spans := tel.spans.GetSpans()
	require.Len(t, spans, 2)
	for i, want := range []string{"retry", "exhausted"} {
		attrs := attribute.NewSet(spans[i].Attributes...)
		v, ok := attrs.Value("server.address")
		assert.True(t, ok, "span %d carries the WithAttributes set", i+1)
		assert.Equal(t, "api.test", v.AsString())
		v, _ = attrs.Value(otelretry.DecisionKey)
		assert.Equal(t, want, v.AsString())
		assert.Equal(t, codes.Error, spans[i].Status.Code)
		assert.Equal(t, "down", spans[i].Status.Description)
	}
}
