package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// httpLog follows the attempts of retry http through the policy's
// observer, and reports the outcome: with -v, a line per retry and one for
// the end, with the sends of the whole call; otherwise the give-up line,
// unless -q.
type httpLog struct {
	c        *config
	stderr   io.Writer
	logger   *logger    // nil without -v
	tally    *sendTally // nil without -v
	attempts int        // attempts that failed and were retried
}

func newHTTPLog(c *config, stderr io.Writer) *httpLog {
	h := &httpLog{c: c, stderr: stderr}
	if c.verbose {
		h.logger, h.tally = newLogger(stderr, c.attempts), newSendTally()
	}
	return h
}

// observer returns the observer that counts attempts and, with -v, logs
// retries and counts sends.
func (h *httpLog) observer() *retry.Observer {
	o := &retry.Observer{RetryScheduled: h.retrying}
	if h.tally != nil {
		o.AttemptStart, o.AttemptEnd = h.tally.attemptStart, h.tally.attemptEnd
	}
	return o
}

func (h *httpLog) retrying(ctx context.Context, e retry.RetryInfo) {
	h.attempts = e.Attempt
	if h.logger != nil {
		h.logger.retryScheduled(ctx, e)
	}
}

// failure is the outcome of a call that ended without a response.
func (h *httpLog) failure(req *http.Request, err error, rl *relay) *outcome {
	o := &outcome{failed: true, status: exitNoResponse, attempts: h.attempts + 1}
	var e *retry.Error
	if errors.As(err, &e) {
		o.attempts = e.Attempts
	}
	if sig, _ := rl.signalled(); sig != nil {
		o.signal, o.status = sig, signalStatus(sig)
		return o
	}
	o.last = fmt.Sprintf("%s %s: %s", req.Method, req.URL.Redacted(), failure(lastError(err)))
	if e != nil {
		o.reason = h.c.stopReason(e, "not retryable")
	} else {
		o.reason = failure(err)
	}
	return o
}

// lastError is the last attempt's error of a call's error.
func lastError(err error) error {
	var e *retry.Error
	if errors.As(err, &e) && e.Last != nil {
		return e.Last
	}
	return err
}

// response is the outcome of a call that ended with a response: a failure
// when its status is 400 or more.
func (h *httpLog) response(req *http.Request, resp *http.Response) *outcome {
	o := &outcome{status: statusExit(resp.StatusCode), attempts: h.attempts + 1}
	if resp.StatusCode < 400 {
		return o
	}
	o.failed, o.last, o.lastName = true, resp.Status, "status"
	o.reason = h.c.httpTerminalReason(req, resp.StatusCode)
	if e, ok := httpx.Outcome(resp); ok {
		o.attempts = e.Attempts
		o.reason = h.c.stopReason(e, o.reason)
	}
	return o
}

// report writes the outcome: -v's last line, with the sends of the call,
// or the give-up line.
func (h *httpLog) report(o *outcome, elapsed time.Duration) {
	switch {
	case h.logger != nil:
		h.logger.outcome(o, elapsed, slog.Int("sends", h.tally.sends()))
	case o.failed && !h.c.quiet:
		fmt.Fprintln(h.stderr, o.line())
	}
}

// httpTerminalReason says why a final status was not retried.
func (c *config) httpTerminalReason(req *http.Request, code int) string {
	switch {
	case c.statuses != nil && !slices.Contains(c.statuses, code):
		return fmt.Sprintf("-status does not list %d", code)
	case c.statuses == nil && !retriedByDefault(code):
		return fmt.Sprintf("%d is not retried without -status", code)
	case !c.idempotent && req.Header.Get("Idempotency-Key") == "" && req.Header.Get("X-Idempotency-Key") == "":
		return fmt.Sprintf("a %s is retried only with an Idempotency-Key header or -idempotent", req.Method)
	}
	return "not retryable"
}

// retriedByDefault reports whether httpx retries a response with this
// status without -status: 408, 429, and 5xx except 501.
func retriedByDefault(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		code >= 500 && code != http.StatusNotImplemented
}
