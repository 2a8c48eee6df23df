package otelretry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/retrykit/retry/otelretry"
)

// Wiring the observer into an HTTP client: one span per attempt under the
// caller's span, with http.request.resend_count, and the retry metrics. A
// program would pass its own providers (or none: the global ones); this
// one keeps spans and metrics in memory to print them.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	obs, err := otelretry.New(
		otelretry.ForHTTP(),
		otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp),
		otelretry.WithAttributes(attribute.String("server.address", "inventory")),
	)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: httpx.NewTransport(nil,
		retry.WithBackoff(retry.Constant(time.Millisecond)),
		retry.WithObserver(obs),
	)}

	// A stand-in for the service: unavailable twice, then it answers.
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer api.Close()

	ctx, span := tp.Tracer("shop").Start(context.Background(), "checkout")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	span.End()

	for _, s := range spans.GetSpans() {
		parent := "-"
		switch {
		case s.Parent.SpanID() == span.SpanContext().SpanID():
			parent = "checkout"
		case s.Parent.IsValid():
			parent = s.Parent.SpanID().String()
		}
		resend := "-"
		for _, a := range s.Attributes {
			if a.Key == otelretry.ResendCountKey {
				resend = a.Value.String()
			}
		}
		fmt.Printf("%s parent=%s resend_count=%s status=%s\n", s.Name, parent, resend, s.Status.Code)
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == "retry.call.attempts" {
			fmt.Printf("%s: %d call, %d attempts\n", m.Name, h.DataPoints[0].Count, h.DataPoints[0].Sum)
		}
	}
	// Output:
	// retry.attempt parent=checkout resend_count=- status=Error
	// retry.attempt parent=checkout resend_count=1 status=Error
	// retry.attempt parent=checkout resend_count=2 status=Unset
	// checkout parent=- resend_count=- status=Unset
	// retry.call.attempts: 1 call, 3 attempts
}
