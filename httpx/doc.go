// Package httpx retries HTTP requests with the retry loop of package
// [github.com/retrykit/retry], and refuses to send again a request the
// server may already have processed. A POST or PATCH (any method but GET,
// HEAD, OPTIONS, TRACE, PUT and DELETE) without an Idempotency-Key header
// is retried only when the failure proves it was not processed (a refused
// connection, a 429); after any other retryable failure (a 503, a
// connection cut) the call ends after one attempt with
// [retry.ErrNotIdempotent] (ReasonOf "not_idempotent"; for a 503 the
// response comes back and [Outcome] says so), whose message names what
// would allow the retry: an Idempotency-Key or X-Idempotency-Key header
// the server deduplicates on, an idempotent method, or the explicit opt-in
// req.Header["Idempotency-Key"] = nil. A request whose body cannot be
// produced again is refused in the same way, naming Request.GetBody.
// Resending such a request after the server processed it would do it
// twice: two orders, two payments; a plain retry loop, or a client that
// retries every 5xx, does exactly that.
//
// [Do] sends a single call, [NewTransport] makes an [http.RoundTripper]
// that gives any [http.Client] retries, and [WithOptions] overrides the
// client's policy for one request.
//
// # Which requests are sent again: the idempotency rule
//
// httpx sends a request more than once only when that is safe:
//
//   - GET, HEAD, OPTIONS, TRACE, PUT and DELETE are idempotent and are
//     retried on every retryable failure.
//   - POST, PATCH and every other method are retried only when the request
//     carries an idempotency key, that is when its Header map has the key
//     "Idempotency-Key" or "X-Idempotency-Key", as net/http itself decides
//     (see [http.Transport]). A key with a nil value counts: it is an
//     explicit opt-in that net/http does not send on the wire.
//   - Without a key, POST and PATCH are retried only when the request
//     provably was not processed: the connection was refused before
//     anything was sent, or the server answered 429 Too Many Requests. Any
//     other retryable failure ends the call at once, as a
//     [retry.NotIdempotent] error: a circuit breaker still counts it as a
//     failure of the server. Retryable means retried by the call's policy:
//     a failure its classifiers stop (a 503 under
//     retry.WithClassifier(RetryStatuses(429)), say) ends with
//     [retry.ErrPermanent], as it would for a PUT, since a key would not
//     get it retried either.
//
// Making a POST safe to retry:
//
//	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(order))
//	req.Header.Set("Idempotency-Key", orderID) // the server deduplicates on it
//	// or, to opt in without sending a header:
//	// req.Header["Idempotency-Key"] = nil
//	resp, err := httpx.Do(client, req)
//
// # Attempts and sends
//
// An attempt is one RoundTrip of the client's transport, and
// [retry.WithMaxAttempts] counts attempts, not the requests the server
// receives. net/http's own [http.Transport] can send one attempt's request
// more than once: when a request it deems replayable (GET, HEAD, OPTIONS,
// TRACE, or any method with an Idempotency-Key or X-Idempotency-Key header,
// with no body or one GetBody can produce again) fails on a reused
// keep-alive connection (the server closed it, or reset it, before
// answering), the Transport writes it again on another connection (an idle
// one from its pool, or a new one) before its RoundTrip returns, and keeps
// doing so for as long as the connection that failed had been reused. The
// server may have received and processed every one of those sends. So
// under WithMaxAttempts(4) a server whose keep-alive connections die after
// one request sees each request 7 times (attempts 2 to 4, on reused
// connections, each sent twice), and more when several idle connections
// die at once.
//
// To make sends and attempts the same, give the client an [http.Transport]
// with DisableKeepAlives set: net/http never re-sends a request on a fresh
// connection, at the cost of a new connection per request. To see how
// often it happens, make the request with a context from [CountResends]:
// an attempt that was sent more than once then fails with a [*ResentError]
// that says how many times, which the policy's hooks and the returned
// [*retry.Error] show, and [Sends] says how many times the attempt that
// returned a response was sent (without CountResends it reports the sends
// as not counted). httpx cannot prevent those re-sends: the
// Transport makes them inside one RoundTrip call.
//
// # Bodies
//
// Each retry sends a clone of the request with a fresh body from
// [http.Request.GetBody]; the caller's request is never modified.
// [http.NewRequest] and [http.NewRequestWithContext] set GetBody when the
// body is a *bytes.Reader, *bytes.Buffer or *strings.Reader; for any other
// reader, set GetBody yourself. A request whose body cannot be produced
// again (a non-nil Body other than [http.NoBody] and no GetBody) is sent
// once and never retried: its failure ends the call.
//
// # What is retried
//
// Retried: connection errors (refused, reset, an unexpected EOF), attempts
// that time out ([retry.WithAttemptTimeout] or the client's Timeout in
// [Do]), and the statuses 408, 429 and 5xx except 501. Never retried: other
// statuses of 400 and above, TLS certificate failures, URLs without a host
// or with a scheme other than http and https, a redirect the client's
// CheckRedirect refuses (in [Do]), and the caller's own cancellation. Statuses reach the policy's classifiers as a [*StatusError];
// [RetryStatuses] replaces the set of retried statuses, or turns status
// retries off.
//
// An attempt timeout bounds the wait for a response's header; reading the
// body of the response handed back is bounded by the request's context.
//
// # Retry-After
//
// When a retried status carries Retry-After (seconds or an HTTP date, see
// [ParseRetryAfter]), the next attempt waits for it plus a jittered spread
// of the computed backoff, so that clients told the same instant do not
// return together; [retry.WithExactHints] waits exactly the hint. A value
// that cannot be read falls back to the computed backoff. A hint longer than
// the policy's maximum delay, or one that would end past the request's
// deadline, ends the retries and the response comes back to the caller
// with its header intact.
//
// # Responses
//
// A response with a status that is to be retried is read (up to 64 KiB)
// and closed as soon as it arrives, before the wait, so that its
// keep-alive connection serves other requests during a long Retry-After
// and is reused by the next attempt; a longer body is drained up to that
// size and closed when the next attempt starts. When the retries end on a
// status, the last response is returned with a nil error and its whole
// body readable from the start (from memory when it was read ahead), as
// net/http does; the caller closes it, and [Outcome] tells why the
// retries ended there (the attempts used, the reason, a refused
// Retry-After). Without a response, or when the
// request's context ended while a retry was waiting (the body could not be
// read any more, so it is closed), the error is a [*retry.Error] that
// reaches the last attempt's error and the reason the loop stopped. A
// response and an error never come together.
//
// # Hedging
//
// [retry.WithHedge] and [retry.WithAdaptiveHedge] among the options of
// [Do], [NewTransport] or [WithOptions] hedge requests: while an attempt
// waits for its response, another copy of the request is sent after the
// delay, up to the maximum in flight; the first response that is not to
// be retried wins, and the other copies are cancelled and waited for
// before the call returns. Hedges and retries share the attempt count,
// and a budget and a breaker admit each hedge as they do a retry.
//
// Only a request that may be sent twice is hedged, by the rule of retries:
// an idempotent method (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or an
// Idempotency-Key or X-Idempotency-Key header, and no body or one
// [http.Request.GetBody] can produce again. Any other request (a POST
// without a key, a body without GetBody) runs with hedging off, silently:
// it is sent once however slow it is, and retried only as the rules above
// say. Each copy gets its own body from GetBody and its own clone of the
// request.
//
// A response that is not handed back (a copy that succeeded after another
// had won, a copy that failed while another ran on) is drained, up to 64
// KiB, and closed before the call returns, so that its connection goes
// back to the pool; a copy whose response arrives as it is cancelled has
// it closed. A copy cancelled while its request is in flight costs its
// connection on HTTP/1.1, which cannot abandon a request otherwise; on
// HTTP/2 only its stream is reset. A Retry-After from any copy stops the
// hedging for the rest of the call, cancels the copies running and is
// obeyed before the retry, as without hedging; the response handed back
// when it ends the call is that copy's. The observer's events tell hedges
// apart ([retry.AttemptStartInfo].Hedge, [retry.AttemptEndInfo].Lost,
// [retry.DoneInfo].Hedges).
//
// In a hedged call the responses of retried attempts (read ahead, their
// connections released as they arrive) are closed when the call ends
// rather than when the next attempt starts, and likewise under an attempt
// timeout.
//
// # Deadlines, budgets and breakers
//
// The request's context bounds the whole sequence: the loop never starts a
// wait that cannot end before its deadline. Budgets and breakers of the
// core ([retry.WithBudget], [retry.WithBreaker]) work as for any operation;
// a breaker per host is a map of breakers and one [WithOptions] call per
// request (see the examples).
package httpx
