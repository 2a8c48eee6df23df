// Package otelretry reports the retries of package
// [github.com/retrykit/retry] to OpenTelemetry: a span for each attempt and
// metrics for attempts, waits, budget refusals, breaker states and the
// sharing of fleet-wide limits.
//
// [New] returns a [retry.Observer]; attach it to a policy with
// [retry.WithObserver], for plain calls of [retry.Do], for httpx (with
// [ForHTTP]) and for any other adapter that takes retry options:
//
//	obs, err := otelretry.New(otelretry.ForHTTP())
//	if err != nil { ... }
//	client := &http.Client{Transport: httpx.NewTransport(nil, retry.WithObserver(obs))}
//
// # Spans
//
// Each attempt gets a span, a child of the span in the caller's context,
// and the attempt runs with that span in its context, so the spans the
// operation makes (an HTTP client span of otelhttp, a database query) are
// its children. This is the shape the OpenTelemetry HTTP semantic
// conventions ask for: "a span for each attempt". The span carries
// retry.attempt (from 1) and, with ForHTTP, http.request.resend_count (the
// attempt number minus one, from the second attempt on). Attempt spans are
// of kind Internal, with ForHTTP too: the Client span with the HTTP
// attributes (method, URL, status) is the transport's, such as otelhttp's
// under httpx, a child of the attempt span. A failed
// attempt's span has the status Error, with the error's message, and
// retry.decision says what followed: "retry", or the word of
// [retry.ReasonOf] that ended the call. An operation that panics in
// [retry.Do] has its attempt's span ended as the panic unwinds, with the
// decision "panic". The observer ends only the spans it started: a
// caller-driven loop ([retry.Policy.Begin]) hands [retry.Policy.Failed]
// and Succeeded the context Begin returned, which carries the span.
//
// In a hedged call ([retry.WithHedge]) every copy is an attempt with its
// own span; a hedge's span carries retry.hedge=true, and the span of a
// copy that another beat (it was cancelled, or succeeded too late) ends
// with retry.decision "lost" and no error status: its cancellation was the
// call's doing. The winner's span is the one that ends without a
// decision and without an error.
//
// # Metrics
//
// The instruments, on the meter named after this package:
//
//	retry.call.attempts       histogram {attempt}  attempts of each call, at its end
//	retry.call.hedges         histogram {hedge}    hedges of each call that sent any, at its end
//	retry.call.retry_delay    histogram s          total time waited between the attempts of each call
//	retry.attempt.duration    histogram s          time each attempt ran
//	retry.budget.denied       counter   {retry}    retries the budget refused
//	retry.breaker.state       gauge     {state}    1 for the state the breaker entered, 0 for the one it left
//	retry.limit.shared        gauge     1          1 while a fleet-wide limit shares its state, 0 while it decides alone
//	retry.limit.fallbacks     counter   {fallback} times a fleet-wide limit stopped sharing
//
// The histograms in seconds have boundaries of their own (the SDK's
// default ones suit milliseconds): retry.attempt.duration from 5ms to 10s
// (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5,
// 10), retry.call.retry_delay from no wait at all to 2 minutes (0, 0.1,
// 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120); retry.call.attempts has 1, 2,
// 3, 4, 5 and 10, retry.call.hedges 1 to 5. A view of the SDK's meter provider can replace them.
//
// The call metrics carry retry.outcome (the word of [retry.ReasonOf]:
// success, exhausted, permanent, budget, …), the attempt duration carries
// retry.decision (success, retry, lost, or the word that ended the call), the
// breaker gauge carries retry.breaker.state (closed, open, half-open). They
// follow gRPC's A96 retry metrics (attempts, hedges and retry_delay per
// call; as for A96's grpc.client.call.hedges, a call without hedges
// records none) and resilience4j's breaker state gauge.
//
// # Fleet-wide limits
//
// A budget or breaker shared by a fleet (package redisretry) reports
// through [retry.Observer].Sharing when its shared store fails and it
// decides alone, and when it shares again. The observer records
// retry.limit.shared (0, then 1 again) and counts each fallback in
// retry.limit.fallbacks, both with retry.limit.kind ("budget" or
// "breaker") and retry.limit.name (the name it is shared under): alert on
// a gauge at 0, or on any increase of the counter, which also catches a
// fallback shorter than the interval between two collections. When the
// event's context carries a recording span, the span gets an event,
// retry.limit.fallback (with retry.limit.error, the store's error) or
// retry.limit.rejoined; redisretry reports from its own goroutine, with no
// span.
//
// Attributes given with
// [WithAttributes] are added to every span and measurement, to tell
// dependencies apart.
//
// An observer is safe for concurrent use and may be shared by any number of
// policies.
package otelretry
