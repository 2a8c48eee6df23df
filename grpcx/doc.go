// Package grpcx retries gRPC client calls with the retry loop of package
// [github.com/retrykit/retry], with the semantics of gRFC A6 (gRPC client
// retries), and refuses to send again a call the server may already have
// carried out. A call whose method is not declared idempotent is retried
// only when the failure proves the server did not process it; any other
// retryable failure of it (a plain UNAVAILABLE, say) ends the call after
// one attempt with [retry.ErrNotIdempotent] (ReasonOf "not_idempotent"),
// whose message names the method and what would allow the retry: list the
// method in [Config].Idempotent (with [Methods]), or pass [IdempotentCall]
// to the one call. grpc-go's own retries (for any method a service
// config's retryPolicy names, on the codes it lists) and
// go-grpc-middleware's retry interceptor (for every method, once WithMax
// is set) send such a call again; this package does not by default, because
// UNAVAILABLE also reports a connection lost after the request reached the
// server, and a call sent again after it was carried out is carried out
// twice: two orders, two payments. A stream whose response headers
// arrived is never sent again (A6 commits it); a unary call that failed
// after its headers is sent again only when declared idempotent (see
// "Response headers").
//
// [UnaryClientInterceptor] and [StreamClientInterceptor] add retries to
// any [grpc.ClientConn], built from the same [retry.Option]s and policies
// as every other call; [WithOptions] (on the context) and [CallOptions] (a
// [grpc.CallOption]) override them for one call.
//
//	cfg := grpcx.Config{Idempotent: grpcx.Methods("/shop.Catalog/GetItem")}
//	cc, err := grpc.NewClient(target,
//		grpc.WithDisableRetry(),
//		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(cfg, policy)),
//		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(cfg, policy)))
//
// # Turn off grpc-go's own retries
//
// grpc-go retries by itself when a service config (from the resolver, or
// [grpc.WithDefaultServiceConfig]) has a retryPolicy. Its attempts and
// these interceptors' would multiply (5 × 4 = 20 tries of one call), so
// dial with [grpc.WithDisableRetry] when using this package. grpc-go's
// transparent retries (a stream refused before the server saw it) remain,
// as they should: they never repeat work.
//
// # Which statuses are retried
//
//   - UNAVAILABLE, ABORTED and RESOURCE_EXHAUSTED are retried (the last
//     honouring the server's hint, below).
//   - DEADLINE_EXCEEDED is retried only when the policy's own attempt
//     timeout ([retry.WithAttemptTimeout]) ended the attempt, never when
//     the caller's deadline did. Such an attempt is marked
//     [retry.TimedOut]: the classifiers cannot stop it, and a budget
//     charges it its TimeoutCost.
//   - INTERNAL and UNKNOWN only when listed in [Config].Codes.
//   - Every other code is final: the call stops at once.
//
// [Config].Codes replaces the set ([DefaultCodes]). The caller's own
// cancellation or deadline is never retried. The policy's classifiers see
// the status errors of retried codes (but an attempt's own timeout) and
// may still stop them, for example
// retry.WithClassifier(retry.RetryIf(func(err error) bool { ... status.Code(err) ... })).
//
// # Idempotency
//
// Retrying a call the server may already have processed can do it twice.
// As httpx does for POST, a call is retried on every retried status only
// when it is declared idempotent: its method by its full name in
// [Config].Idempotent ([Methods] lists them), or the one call with
// [IdempotentCall]. Any other call is sent again only when the failure
// proves the server did not process it:
//
//   - the call never had a transport stream, or the stream could not be
//     created: nothing left the client;
//   - UNAVAILABLE with a grpc-retry-pushback-ms trailer of zero or more,
//     in a trailers-only response (no response headers): the server
//     refused the call and said when to come back;
//   - RESOURCE_EXHAUSTED with a pushback or a google.rpc.RetryInfo hint,
//     in a trailers-only response.
//
// A hint after response headers proves nothing: the handler ran, and may
// have done its work before it failed. ABORTED and an attempt timeout are
// never retried for such a call. A failure it may not retry ends the call
// at once with [retry.ErrNotIdempotent] through [retry.NotIdempotent], as
// httpx does for a POST, with a message naming the method and what would
// allow the retry; only a failure the policy would otherwise retry is
// refused so: one its classifiers stop ends with [retry.ErrPermanent], as
// for an idempotent method. A circuit breaker counts a refusal as a
// failure, since the server failed, where a final status (NOT_FOUND, say)
// is an answer and counts as a success.
//
// To opt in, declare idempotent the methods whose every call is safe to
// repeat (reads, writes that set a value, writes the server deduplicates
// by a request id), or pass [IdempotentCall] to one call made safe by its
// request:
//
//	cfg := grpcx.Config{Idempotent: grpcx.Methods("/shop.Catalog/GetItem", "/shop.Orders/Get")}
//	order, err := orders.Create(ctx, req, grpcx.IdempotentCall()) // the server deduplicates req.RequestId
//
// A predicate that is true for every name (func(string) bool { return
// true }) retries every method as go-grpc-middleware does: only for a
// service whose every method is idempotent.
//
// # Response headers
//
// gRFC A6 commits a call when its response headers arrive: it is never
// sent again, idempotent or not. Streams here follow A6 (see below). A
// unary call does not, by design: one declared idempotent that fails
// after its headers (a handler that called grpc.SendHeader and then
// failed, a connection cut between the headers and the response, the
// policy's attempt timeout firing after them) is retried as if it had
// failed before them. grpc-go commits on headers because its retries live
// inside the transport stream, whose headers reach the application as
// they arrive; a unary response reaches the application only when the
// call ends, so nothing of a failed attempt has reached it, and the
// method was declared safe to repeat. The caller's [grpc.Header] and
// [grpc.Trailer] call options get the header and trailer of the last
// attempt only (when it reached the server; grpc-go leaves them as they
// were otherwise), never those of an attempt that was retried.
//
// A unary call not declared idempotent that fails after its headers is
// not retried, even with a hint (the handler ran): it ends with
// [retry.ErrNotIdempotent], a failure for a breaker, and a message saying
// the server answered with headers, so it may have processed the call,
// and how to declare it idempotent. To tell, the interceptor asks grpc-go
// for the response header of such a call (and of any call whose caller
// asks for it), which costs grpc-go a copy of it. A final status after
// headers (NOT_FOUND, say) stays final: [retry.ErrPermanent], an answer
// for a breaker. The policy's attempt timeout bounds a whole unary
// attempt, headers or not (grpc-go gives an interceptor no way to lift it
// at the headers).
//
// # Server hints
//
// A grpc-retry-pushback-ms trailer (milliseconds) and a
// google.rpc.RetryInfo detail of the status (its retry_delay) become
// [retry.After] hints: the next attempt waits for them (plus a jittered
// spread of the computed backoff, unless [retry.WithExactHints]). The
// pushback wins when both are present. A negative, unreadable or repeated
// pushback means "do not retry": the call stops with [retry.ErrPermanent].
// A hint longer than the policy's maximum delay stops the call with
// [retry.ErrHintTooLong], and the [*retry.Error]'s Hint holds it.
// An invalid or negative RetryInfo is ignored (the computed backoff
// applies).
//
// # Streams
//
// A stream is retried as a whole (a hedged one is described in "Hedged
// streams"), and only while no response has reached
// the caller: before its first response header or message arrives. A
// failure after that reaches the caller, which has received exactly the
// messages the server sent; nothing is ever replayed to it. The messages
// the caller sent (and CloseSend) are sent again on the new attempt, in
// order; they are kept (as copies) only while the stream can still be
// retried and while their encoded size stays within [Config].ReplayLimit.
// A stream that outgrows the limit, or sends a message that is not a
// protobuf message, keeps working but is no longer retried: a failure
// before its first response then ends it with [retry.ErrNotIdempotent]
// (a failure for a breaker), with a message saying why it cannot be sent
// again, even when the stream had become final while a retry was
// waiting. A send that fails on a stream that can still be retried
// returns nil; the failure is found, and the stream retried, by RecvMsg. A
// [grpc.OnFinish] callback runs once per stream, as grpc-go promises, not
// once per attempt: with the end of the attempt the stream committed to,
// or with the error the caller receives.
//
// Header waits for the current attempt's headers. When that attempt ended
// without headers (it failed before its first response), Header returns
// nil, nil, as grpc-go's own stream does for a stream that ended without
// headers; unlike grpc-go's with its own retries on, it does not retry:
// the retry happens in RecvMsg, on the receiving goroutine, after which
// Header and Trailer are those of the new attempt. Context is the current
// attempt's stream context: a retry replaces it (and cancels the one it
// replaces), so take it after the first response to keep one for the
// stream's life.
//
// A stream is one call of the policy, from its creation to its first
// response: a failure to create it (which means nothing reached the
// server) and a failure of its first response are attempts of the same
// call, counted against the same [retry.WithMaxAttempts], each asking a
// breaker for admission once and reported to it once. The attempt that
// commits (its headers or first message arrive, or it ends with OK) is
// the call's success: a breaker records it and a budget receives its
// deposit, once per stream. A breaker's half-open probe is therefore held
// until the stream's first response. As with grpc-go, a stream must be
// read to its end or its context cancelled: an abandoned stream's attempt
// is reported, as counting for nothing, only when its context ends.
//
// The policy's attempt timeout bounds a unary attempt. A stream attempt
// it bounds only until the stream is established: it runs from the
// attempt's start, starts again with each message the caller sends (and
// CloseSend), and stops for good when response headers or a message
// arrive or the stream can no longer be retried. A long upload is not cut
// while the caller sends, nor a stream whose headers arrived and whose
// first message is slow; a server that stays silent for the timeout after
// the caller last sent is. The core keeps the timeout to itself, so a
// stream reads it from the deadline of an attempt the policy starts; it
// can come out shorter by the time that takes (microseconds).
//
// The timeout and the first response can arrive at the same instant; the
// stream decides which came first once, under one lock, and both Header
// and RecvMsg abide by it. gRFC A6 commits a call when the client
// receives response headers, and forbids any retry after that; an attempt
// the client has already abandoned receives nothing, so it cannot commit
// (A6's hedging cancels the losing attempts the same way). Hence: when
// the timeout comes first, the attempt is cancelled, whatever then
// arrives on it (headers, a message, its end) is dropped unseen, and the
// attempt counts as timed out (retried, or not, as for any attempt
// timeout); when the response comes first, the stream is committed and
// the timeout no longer applies: the stream continues under the caller's
// context alone.
//
// # Hedging
//
// A policy with [retry.WithHedge] or [retry.WithAdaptiveHedge] hedges
// unary calls (and streams: see "Hedged streams") with the semantics of gRFC A6's hedgingPolicy: the first
// copy starts, and while no copy has answered another is sent after each
// delay (hedgingDelay; 0 sends them all at once), up to the maximum in
// flight, each counted against [retry.WithMaxAttempts] (maxAttempts). The
// call commits on the first successful reply: the other copies are
// cancelled (the server sees their contexts end) and waited for, and the
// caller's reply, [grpc.Header] and [grpc.Trailer] get the winner's. A
// copy that fails with a code the call retries (A6's
// nonFatalStatusCodes: see "Which statuses are retried") lets the others
// run, and the next hedge is sent at once (A6); a further such failure
// before the call's next retry waits the policy's backoff first (A6 caps
// maxAttempts at 5; a policy here may not), and no hedge is sent past
// [retry.WithMaxElapsed]; a copy that fails with any
// other code (a fatal one) ends the call with that status and cancels the
// others. Each hedge is admitted by the policy's budget like a retry, so
// [ThrottlingBudget] throttles hedges as A6 does; a breaker admits each
// too. Every copy after the first carries grpc-previous-rpc-attempts, the
// number of copies sent before it.
//
// Server pushback on a hedged unary call stops hedging: a copy answered
// with a grpc-retry-pushback-ms trailer (or a RetryInfo hint) cancels the
// copies running, no further hedge is sent for the call, and the retry
// waits for the pushback. A negative or malformed pushback means "do not
// retry": it ends the call like a fatal code, cancelling the others. This
// is stricter than A6, which lets the copies running go on (a stream here
// does, below): a unary call is hedged by [retry.DoHedged], which treats
// a hint on one copy as the call's answer, and a server that pushes back
// is overloaded, so the copies it still runs are the load to shed.
//
// Only a call declared idempotent ([Config].Idempotent or
// [IdempotentCall]) whose reply is a protobuf message is hedged; any other
// runs on the same policy with hedging off, and is sent again only as
// "Idempotency" says. Each copy after the first receives into a reply of
// its own (a new message of the reply's type), merged into the caller's
// when it wins.
//
// # Hedged streams
//
// A stream declared idempotent is hedged by the same policy, as A6 allows
// until the stream commits. Its copies start as a unary call's do (after
// each delay, up to the maximum in flight, each admitted by the budget and
// the breaker like a retry and counted against [retry.WithMaxAttempts]
// with the retries, each after the first carrying
// grpc-previous-rpc-attempts). Every message the caller sends (and
// CloseSend) goes to every copy open, and a copy opened later first
// receives all those sent before it, in order; they are kept as for a
// retry (see "Streams"). Each copy has a sender of its own, which sends
// it the messages kept at its own pace: a copy whose server stops reading
// (its flow control full: the slow server hedging is for) holds up
// neither the other copies nor the caller, whose SendMsg returns once the
// message is kept. The stream commits to the first copy whose
// response headers arrive (or that ends with OK; a message never comes
// before the headers): every other copy is cancelled and no further copy
// starts. From then on the stream is that copy's: Header, RecvMsg, Trailer
// and Context are its own, and the caller's [grpc.Header], [grpc.Trailer]
// and [grpc.Peer] options get its own (never a loser's), and
// [grpc.OnFinish] runs once, with its end (or, for a stream that ends
// without a commit, once, with the error that ended it). After the commit
// the caller's SendMsg waits until the winner has every message kept,
// then sends on it, with grpc-go's flow control. Until the commit, Header
// and RecvMsg wait for it, Trailer is nil and Context is the caller's
// context carrying the peer (peer.FromContext) of the first copy
// opened. A stream that ends without a commit gives Trailer the trailer
// of the copy whose failure ended it. RecvMsg returns the stream's end
// once every copy has been reported to the policy (the observer's Done
// came first).
//
// A copy that fails with a code the call retries (non-fatal) lets the
// others go on: the next hedge is sent at once the first time since the
// last retry, later ones after the policy's backoff; when the last copy
// running fails, the policy decides the retry, which hedges again. A copy
// that fails with any other code (fatal) ends the stream with that status
// and cancels the others. Pushback follows A6: on a copy that fails while
// others run, a negative or malformed pushback stops the hedging (the
// copies running go on; the last to fail ends the stream, with no retry),
// and a pushback of d milliseconds sends the next copy (a hedge, or the
// retry if the others fail first) no sooner than d later. A send that
// takes the messages kept beyond [Config].ReplayLimit (or that is not a
// protobuf message) commits the stream to the open copy to which the most
// messages were sent (the oldest of those) and cancels the others (A6's
// "Memory Management"), and waits until that copy has every message kept;
// it is then no longer retried, as an unhedged stream that outgrew the
// limit. The policy's attempt timeout bounds each copy as it bounds an
// attempt of an unhedged stream. A message grpc-go cannot send on a copy
// (its encoding fails) ends that copy with the failure.
//
// A panic on a copy's goroutine (an inner interceptor, grpc-go's stream or
// codec) or on the goroutine that drives the copies (an observer's hook)
// ends the stream: that copy and every other, cancelled, are reported as
// counting for nothing (a breaker's probe slot is freed), and the panic
// reaches the caller's goroutine, with the same value, in the interceptor
// if the stream was not yet returned, otherwise in RecvMsg, Header or
// SendMsg, as [retry.DoHedged] carries a copy's panic to its caller.
//
// The engine reports each copy as [retry.Policy.Hedge] describes, and
// the observer hears what it hears of a hedged unary call: the winner is
// the call's success; a copy that fails while others run is reported at
// once, under the caller's context, and the engine judges it: a fatal
// failure ends the stream (its AttemptEnd carries the stop), the others
// are cancelled and reported as they end, as losers (AttemptEndInfo.Lost,
// counting for nothing), and the stream's one Done carries the stop; a
// failure the call retries counts as nothing, the others go on, and the
// engine says when the next hedge may go. A copy cancelled because
// another won, or the stream ended, is a loser too. [retry.WithAdaptiveHedge]
// gives a stream its current delay, and the engine feeds it each copy's
// time from its start to its report (the winner's to its response
// headers), as DoHedged feeds it a unary call's.
//
// A hedged stream costs two goroutines per copy (its sender, and one that
// waits for its first response) and one that drives the copies until the
// commit and every copy was reported; a stream that is not hedged
// (not idempotent, or a policy that does not hedge) runs as described in
// "Streams", at the same cost as before, on the policy with hedging off,
// as a unary call that is not hedged: it teaches
// [retry.WithAdaptiveHedge]'s delay nothing.
//
// # Attempts and budgets
//
// Attempts after the first carry the grpc-previous-rpc-attempts metadata
// (the number of attempts before them), as A6 specifies. Budgets and
// breakers of the core ([retry.WithBudget], [retry.WithBreaker]) work as
// for any operation; [ThrottlingBudget] reproduces A6's retry throttling.
//
// # Errors
//
// A call that fails returns a [*retry.Error] with the number of attempts,
// the last status error and the reason the retries stopped; status.Code,
// status.FromError and errors.Is see through it. io.EOF from a stream's
// RecvMsg is returned as is. An invalid configuration (a nil option, a
// negative ReplayLimit, a code out of range, a malformed name given to
// [Methods], a nil context given to [WithOptions]) fails every call with
// an error wrapping [retry.ErrInvalidConfig], without reaching the
// server; nothing in the package panics on user input.
package grpcx
