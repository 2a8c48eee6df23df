package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/retrykit/retry"
)

// StatusError is the error an attempt ends with when the server answers
// with a status of 400 or more. Classifiers see it (see [RetryStatuses]).
// When the retries end on a status, [Do] and the transport of
// [NewTransport] return that response with a nil error, as net/http does,
// not a StatusError; the caller meets one only inside a [*retry.Error],
// when its context ended while a retry was waiting.
//
// A StatusError is a plain value: safe to share once built.
type StatusError struct {
	// StatusCode is the response's status code, for example 503.
	StatusCode int
	// Status is the response's status line, for example "503 Service Unavailable".
	Status string
	// RetryAfter is the wait the response's Retry-After header asked for,
	// or 0 when it had none or an unreadable one.
	RetryAfter time.Duration
}

// Error describes the status, and the Retry-After wait when there was one.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("httpx: server answered ")
	if e.Status != "" {
		b.WriteString(e.Status)
	} else {
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (Retry-After ")
		b.WriteString(e.RetryAfter.String())
		b.WriteByte(')')
	}
	return b.String()
}

// Retryable reports whether the status is in the default retry set: 408,
// 429, and every 5xx except 501 (Not Implemented). The core loop uses it
// when no classifier of the policy decides; [RetryStatuses] replaces it.
func (e *StatusError) Retryable() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented:
		return false
	}
	return code >= 500 && code <= 599
}

// RetryStatuses returns a classifier that retries a [*StatusError] whose
// code is among codes and stops on any other *StatusError, leaving every
// other error (connection failures, timeouts) to the rest of the chain.
// Pass it with [retry.WithClassifier] to replace the default set of
// retried statuses. RetryStatuses() with no codes turns status retries off
// entirely; a Retry-After header is then not obeyed either.
//
// The classifier is safe for concurrent use.
func RetryStatuses(codes ...int) retry.Classifier {
	codes = slices.Clone(codes)
	return func(err error) retry.Class {
		var se *StatusError
		if !errors.As(err, &se) {
			return retry.Unclassified
		}
		if slices.Contains(codes, se.StatusCode) {
			return retry.Retryable
		}
		return retry.Terminal
	}
}

// idempotent reports whether req may be sent again after a failure that
// might have reached the server: its method is idempotent, or its Header
// has an Idempotency-Key or X-Idempotency-Key entry (even a nil one, which
// net/http does not send), the convention net/http itself follows.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	if _, ok := req.Header["Idempotency-Key"]; ok {
		return true
	}
	_, ok := req.Header["X-Idempotency-Key"]
	return ok
}

// neverRetried reports whether a transport error is certain to happen
// again: a TLS certificate the client refuses, or a URL no HTTP transport
// can reach (no host, or a scheme other than http and https).
func neverRetried(req *http.Request, err error) bool {
	if u := req.URL; u == nil || u.Host == "" ||
		!(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
		return true
	}
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		roots     x509.SystemRootsError
		header    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &roots) || errors.As(err, &header)
}

// classifyErr turns the transport error of an attempt into what the loop
// should see: Permanent for a failure that would only repeat; refused
// (NotIdempotent) for one that a request must not risk repeating (its
// body cannot be sent again, or it is not idempotent and may have been
// processed), which a breaker still counts as a failure; err itself
// otherwise (the loop retries it, unless a classifier says otherwise).
// A refusal is reported only for what the loop would retry: an attempt
// that hit the policy's own timeout (timedOut, which the loop retries
// whatever the classifiers say), or an error the policy's classifiers
// retry (retried); another is left to them.
func classifyErr(req *http.Request, replayable bool, err error, timedOut bool, retried func(error) bool) error {
	if req.Context().Err() != nil {
		return err // the caller's own cancellation: the loop stops on it
	}
	switch {
	case neverRetried(req, err):
		return retry.Permanent(err)
	}
	// A request that may have been processed is not sent again: that could
	// create a duplicate. Only a refused connection proves it was not.
	noKey := !idempotent(req) && !errors.Is(err, syscall.ECONNREFUSED)
	if (noKey || !replayable) && (timedOut || retried(err)) {
		return refused(req, noKey, !replayable, err)
	}
	return err
}

// refused marks err, the failure of an attempt that the loop would retry,
// as one httpx does not send again ([retry.NotIdempotent]: a breaker
// counts it as a failure), with a message that says why and what would
// allow the retry: noKey, the server may have processed a request that
// carries no idempotency key; noBody, its body cannot be produced again.
func refused(req *http.Request, noKey, noBody bool, err error) error {
	var b strings.Builder
	b.WriteString("httpx: not sent again: ")
	if noKey {
		b.WriteString("the server may have processed the ")
		b.WriteString(req.Method)
		b.WriteString(", which has no idempotency key (to retry it, set an Idempotency-Key or X-Idempotency-Key " +
			"header the server deduplicates on, use an idempotent method such as PUT, or opt in without " +
			`sending a key with req.Header["Idempotency-Key"] = nil)`)
	}
	if noKey && noBody {
		b.WriteString("; and ")
	}
	if noBody {
		b.WriteString("the request body cannot be sent again (set Request.GetBody, which http.NewRequest sets " +
			"for a *bytes.Buffer, *bytes.Reader or *strings.Reader body)")
	}
	return retry.NotIdempotent(fmt.Errorf("%s: %w", b.String(), err))
}

// statusErr returns the error for a response with a status of 400 or
// more, and whether the loop is expected to retry it: certain for a
// Retry-After hint or a Permanent error, a guess from the default set of
// statuses when the policy's classifiers decide. A Retry-After header
// becomes an After hint when the policy retries the status; a
// non-idempotent request is retried only on 429, and is refused
// (NotIdempotent) only on a status the policy would retry: another is
// Permanent, as for any request. retried reports whether the call's
// policy retries an error.
// wrap, when not nil, wraps the *StatusError (see [ResentError]).
func statusErr(req *http.Request, resp *http.Response, replayable bool, retried func(error) bool, wrap func(error) error) (again bool, err error) {
	se := &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
	var cause error = se
	if wrap != nil {
		cause = wrap(se)
	}
	noKey := !idempotent(req) && resp.StatusCode != http.StatusTooManyRequests
	if noKey || !replayable {
		if retried(cause) {
			return false, refused(req, noKey, !replayable, cause) // a failure, but unsafe to send again
		}
		return false, retry.Permanent(cause)
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return se.Retryable(), cause
	}
	d, ok := ParseRetryAfter(v, time.Now())
	if !ok {
		return se.Retryable(), cause
	}
	se.RetryAfter = d
	// After overrides the policy's classifiers, so ask them first whether
	// this status is to be retried at all (RetryStatuses may say no).
	if !retried(cause) {
		return false, cause
	}
	return true, retry.After(d, cause)
}

// retriedBy reports whether a policy made of opts retries err, by running
// the core loop once on an operation that fails with err. The probe
// removes everything with effects (breaker, budget, the WithNotify hook,
// the observer, which would otherwise hear of a call that is not one) and
// every limit but the single attempt, and hedging, so only the
// classification decides.
func retriedBy(opts []retry.Option, err error) bool {
	probe := append(slices.Clip(opts),
		retry.WithMaxAttempts(1), retry.WithBreaker(nil), retry.WithBudget(nil),
		retry.WithNotify(nil), retry.WithObserver(nil), retry.WithAttemptTimeout(0), retry.WithMaxElapsed(0), noHedge)
	e := retry.Run(context.Background(), func(context.Context) error { return err }, probe...)
	return errors.Is(e, retry.ErrExhausted)
}
