package otelretry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/retrykit/retry"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/retrykit/retry/otelretry"

// Attribute keys this package sets.
const (
	AttemptKey     = attribute.Key("retry.attempt")
	DecisionKey    = attribute.Key("retry.decision")
	OutcomeKey     = attribute.Key("retry.outcome")
	BreakerKey     = attribute.Key("retry.breaker.state")
	ResendCountKey = attribute.Key("http.request.resend_count")
	// LimitKindKey and LimitNameKey name a budget or breaker shared by a
	// fleet ("budget" or "breaker", and the name it is shared under), on
	// the measurements and span events of [retry.Observer].Sharing.
	LimitKindKey = attribute.Key("retry.limit.kind")
	LimitNameKey = attribute.Key("retry.limit.name")
	// LimitErrorKey is why a limit stopped sharing, on the span event
	// retry.limit.fallback.
	LimitErrorKey = attribute.Key("retry.limit.error")
	// HedgeKey marks the span of a hedge ([retry.WithHedge]).
	HedgeKey = attribute.Key("retry.hedge")
)

// An Option configures [New].
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	name  string
	http  bool
	attrs []attribute.KeyValue
}

// WithTracerProvider sets where the spans go. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets where the metrics go. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithSpanName sets the name of the attempt spans. Default "retry.attempt".
func WithSpanName(name string) Option { return func(c *config) { c.name = name } }

// WithAttributes adds attrs to every span and measurement, to tell apart
// the dependencies a program retries (for example server.address).
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// ForHTTP marks the attempts as HTTP requests sent again, for httpx: the
// attempt spans carry http.request.resend_count from the second attempt
// on. They stay of kind Internal: an attempt span knows nothing of the
// request's method, URL or status, which the HTTP conventions require of a
// Client span. The Client span of each request is the transport's (for
// example otelhttp's, below httpx), a child of its attempt span.
func ForHTTP() Option {
	return func(c *config) { c.http = true }
}

// instruments are the metric instruments of an observer, and the
// measurement options it records with, built once.
type instruments struct {
	attempts metric.Int64Histogram
	hedges   metric.Int64Histogram
	delay    metric.Float64Histogram
	duration metric.Float64Histogram
	denied   metric.Int64Counter
	state    metric.Int64Gauge
	shared   metric.Int64Gauge
	fellBack metric.Int64Counter

	base     []metric.AddOption               // the WithAttributes set, for the budget counter
	outcome  map[string][]metric.RecordOption // by retry.ReasonOf word
	decision map[string][]metric.RecordOption // by decision word
	states   [3][]metric.RecordOption         // by retry.BreakerState
	attrs    []attribute.KeyValue             // the WithAttributes set, for the sharing events' sets
}

// words are every word of retry.ReasonOf.
var words = []string{"success", "exhausted", "max_elapsed", "permanent", "not_idempotent", "budget", "circuit_open", "hint_too_long", "invalid", "deadline", "canceled", "panic", "other"}

// New returns an observer that reports to OpenTelemetry; see the package
// documentation. It returns an error if an instrument cannot be created.
func New(opts ...Option) (*retry.Observer, error) {
	c := config{name: "retry.attempt"}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	ins, err := newInstruments(c.mp.Meter(ScopeName), c.attrs)
	if err != nil {
		return nil, err
	}
	o := &observer{tracer: c.tp.Tracer(ScopeName), name: c.name, http: c.http, attrs: c.attrs, ins: ins,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}}
	return &retry.Observer{
		AttemptStart:  o.start,
		AttemptEnd:    o.end,
		BudgetRefused: o.budget,
		BreakerChange: o.breaker,
		Done:          o.done,
		Sharing:       o.sharing,
	}, nil
}

// The histograms' bucket boundaries, in seconds: the SDK's default
// boundaries suit milliseconds (0 to 10000), and would put every attempt
// below 5s in its first bucket or two.
var (
	// durationBounds are those of retry.attempt.duration: 5ms to 10s.
	durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	// delayBounds are those of retry.call.retry_delay: none (a call
	// that did not wait), then 100ms to 2 minutes.
	delayBounds = []float64{0, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
)

func newInstruments(m metric.Meter, attrs []attribute.KeyValue) (*instruments, error) {
	var ins instruments
	var errs [8]error
	ins.attempts, errs[0] = m.Int64Histogram("retry.call.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts made by each call, recorded when it ends."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5, 10))
	ins.delay, errs[1] = m.Float64Histogram("retry.call.retry_delay", metric.WithUnit("s"),
		metric.WithDescription("Total time each call waited between its attempts, recorded when it ends."),
		metric.WithExplicitBucketBoundaries(delayBounds...))
	ins.duration, errs[2] = m.Float64Histogram("retry.attempt.duration", metric.WithUnit("s"),
		metric.WithDescription("Time each attempt ran."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	ins.denied, errs[3] = m.Int64Counter("retry.budget.denied", metric.WithUnit("{retry}"),
		metric.WithDescription("Retries the retry budget refused."))
	ins.hedges, errs[7] = m.Int64Histogram("retry.call.hedges", metric.WithUnit("{hedge}"),
		metric.WithDescription("Hedges sent by each hedged call, recorded when it ends; a call without hedges records none."),
		metric.WithExplicitBucketBoundaries(1, 2, 3, 4, 5))
	ins.state, errs[4] = m.Int64Gauge("retry.breaker.state", metric.WithUnit("{state}"),
		metric.WithDescription("1 for the state a circuit breaker entered, 0 for the one it left."))
	ins.shared, errs[5] = m.Int64Gauge("retry.limit.shared", metric.WithUnit("1"),
		metric.WithDescription("1 while a budget or breaker shared by a fleet shares its state, 0 while it decides alone."))
	ins.fellBack, errs[6] = m.Int64Counter("retry.limit.fallbacks", metric.WithUnit("{fallback}"),
		metric.WithDescription("Times a budget or breaker shared by a fleet stopped sharing and decided alone."))
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("otelretry: %w", err)
		}
	}
	with := func(kv ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(append([]attribute.KeyValue(nil), attrs...), kv...)...)
	}
	ins.base = []metric.AddOption{metric.WithAttributeSet(with())}
	ins.attrs = attrs
	ins.outcome = make(map[string][]metric.RecordOption, len(words))
	ins.decision = make(map[string][]metric.RecordOption, len(words)+2)
	for _, w := range append([]string{"retry", "lost"}, words...) {
		ins.outcome[w] = []metric.RecordOption{metric.WithAttributeSet(with(OutcomeKey.String(w)))}
		ins.decision[w] = []metric.RecordOption{metric.WithAttributeSet(with(DecisionKey.String(w)))}
	}
	for _, s := range []retry.BreakerState{retry.BreakerClosed, retry.BreakerOpen, retry.BreakerHalfOpen} {
		ins.states[s] = []metric.RecordOption{metric.WithAttributeSet(with(BreakerKey.String(s.String())))}
	}
	return &ins, nil
}

type observer struct {
	tracer    trace.Tracer
	name      string
	startOpts []trace.SpanStartOption // built once: no allocation per span for them
	http      bool
	attrs     []attribute.KeyValue
	ins       *instruments
}

// spanKey keys the attempt span this package started in the attempt's
// context: end ends that span and no other, never a caller's span that a
// context handed to it without a start happens to carry.
type spanKey struct{}

func (o *observer) start(ctx context.Context, e retry.AttemptStartInfo) context.Context {
	ctx, span := o.tracer.Start(ctx, o.name, o.startOpts...)
	ctx = context.WithValue(ctx, spanKey{}, span)
	if span.IsRecording() {
		span.SetAttributes(o.attrs...)
		span.SetAttributes(AttemptKey.Int(e.Attempt))
		if o.http && e.Attempt > 1 {
			span.SetAttributes(ResendCountKey.Int(e.Attempt - 1))
		}
		if e.Hedge {
			span.SetAttributes(HedgeKey.Bool(true))
		}
	}
	return ctx
}

func (o *observer) end(ctx context.Context, e retry.AttemptEndInfo) {
	decision := "success"
	switch {
	case e.Lost:
		decision = "lost" // another copy of a hedged call won or ended it
	case e.Stop != nil:
		decision = retry.ReasonOf(e.Stop)
	case e.Err != nil:
		decision = "retry" // failed, and not the end of the call
	}
	o.ins.duration.Record(ctx, e.Duration.Seconds(), o.ins.decision[decision]...)
	span, ok := ctx.Value(spanKey{}).(trace.Span)
	if !ok {
		return // not an attempt this observer started
	}
	switch {
	case !span.IsRecording():
	case e.Lost:
		span.SetAttributes(DecisionKey.String(decision)) // cancelled by the call, not an error of its own
	case e.Err != nil:
		span.SetStatus(codes.Error, e.Err.Error())
		span.SetAttributes(DecisionKey.String(decision))
	}
	span.End()
}

func (o *observer) done(ctx context.Context, e retry.DoneInfo) {
	opts := o.ins.outcome[retry.ReasonOf(e.Err)]
	o.ins.attempts.Record(ctx, int64(e.Attempts), opts...)
	if e.Hedges > 0 {
		o.ins.hedges.Record(ctx, int64(e.Hedges), opts...)
	}
	o.ins.delay.Record(ctx, e.Waited.Seconds(), opts...)
}

func (o *observer) budget(ctx context.Context, _ retry.BudgetRefusedInfo) {
	o.ins.denied.Add(ctx, 1, o.ins.base...)
}

func (o *observer) breaker(ctx context.Context, e retry.BreakerChangeInfo) {
	if int(e.From) < len(o.ins.states) {
		o.ins.state.Record(ctx, 0, o.ins.states[e.From]...)
	}
	if int(e.To) < len(o.ins.states) {
		o.ins.state.Record(ctx, 1, o.ins.states[e.To]...)
	}
}

// sharing records a Sharing event: the limit's gauge, a fallback counted
// when it stopped sharing, and a span event on the span in ctx, if one is
// recording. The events are rare (a shared store failing or coming back):
// the attributes are built for each.
func (o *observer) sharing(ctx context.Context, e retry.SharingInfo) {
	ev := []attribute.KeyValue{LimitKindKey.String(e.Kind), LimitNameKey.String(e.Name)}
	set := metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue(nil), o.ins.attrs...), ev...)...))
	if e.Shared {
		o.ins.shared.Record(ctx, 1, set)
	} else {
		o.ins.fellBack.Add(ctx, 1, set)
		o.ins.shared.Record(ctx, 0, set)
	}
	span := trace.SpanFromContext(ctx)
	switch {
	case !span.IsRecording():
	case e.Shared:
		span.AddEvent("retry.limit.rejoined", trace.WithAttributes(ev...))
	default:
		if e.Err != nil {
			ev = append(ev, LimitErrorKey.String(e.Err.Error()))
		}
		span.AddEvent("retry.limit.fallback", trace.WithAttributes(ev...))
	}
}
