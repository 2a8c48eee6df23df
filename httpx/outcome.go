package httpx

import (
	"context"
	"net/http"

	"github.com/retrykit/retry"
)

// outcomeKey keys the outcome attached to a response handed back because
// the retries ended on its status.
type outcomeKey struct{}

// outcome is the error a response was handed back with, and that
// response: a request built later from the response's request context
// inherits the value, and must not read as that response's outcome.
type outcome struct {
	resp *http.Response
	err  *retry.Error
}

// Outcome reports why the retries ended on resp's status, for a response
// that [Do] or the transport of [NewTransport] handed back with a nil
// error because its status was not followed by another attempt: the
// [*retry.Error] the loop ended with (its Attempts, its Reason sentinel,
// which [retry.ReasonOf] names, and in Hint the server's hint, the
// refused one with reason [retry.ErrHintTooLong]), and true. errors.As
// finds the response's [*StatusError] in its Last.
//
// The ways the retries end on a status are told apart by the Reason:
// [retry.ErrExhausted] (the attempts ran out), [retry.ErrPermanent] (a
// status that is not retried), [retry.ErrNotIdempotent] (a request that
// failed with a retryable status and is not sent again: a POST without an
// Idempotency-Key, or a body that cannot be produced again; the message
// says what would allow the retry), [retry.ErrHintTooLong],
// [retry.ErrBudgetExhausted], [retry.ErrCircuitOpen] (the breaker refused
// the next attempt), [retry.ErrMaxElapsed] and [context.DeadlineExceeded]
// (no room for the next wait).
//
// For a response that succeeded (a status below 400), one from another
// source, or nil, Outcome returns nil and false. It reads the value from
// the context of resp.Request, which httpx replaces with a copy carrying
// it only in that case, so a success costs nothing. The value names the
// response it belongs to: a later request built from that context (say
// with resp.Request.Context()) carries it too, but its response does not
// read as the earlier one's outcome.
func Outcome(resp *http.Response) (*retry.Error, bool) {
	if resp == nil || resp.Request == nil || resp.StatusCode < 400 {
		return nil, false
	}
	o, ok := resp.Request.Context().Value(outcomeKey{}).(outcome)
	if !ok || o.resp != resp || o.err == nil {
		return nil, false
	}
	return o.err, true
}

// attachOutcome records err on resp for [Outcome]. req is the caller's
// request, for a response that has none.
func attachOutcome(resp *http.Response, req *http.Request, err error) {
	e, ok := err.(*retry.Error)
	if !ok {
		return
	}
	r := resp.Request
	if r == nil {
		r = req
	}
	resp.Request = r.WithContext(context.WithValue(r.Context(), outcomeKey{}, outcome{resp: resp, err: e}))
}
