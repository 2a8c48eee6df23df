package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
)

// Exit statuses of retry http, after the final response (or none).
const (
	exitNoResponse = 1 // no response came: connection errors, timeouts, interruption
	exitHTTP4xx    = 4 // the final status was 4xx
	exitHTTP5xx    = 5 // the final status was 5xx
)

// runHTTP sends the request c describes through httpx under policy p,
// writes the final response's body to stdout and returns the exit status.
func runHTTP(ctx context.Context, c *config, p *retry.Policy, stdout, stderr io.Writer) int {
	body, err := c.requestBody()
	if err != nil {
		fmt.Fprintf(stderr, "retry: -d: %v\n", err)
		return exitUsage
	}
	ctx, rl, stop := listenSignals(ctx)
	defer stop()

	rctx := ctx
	if c.verbose {
		rctx = httpx.CountResends(ctx) // -v says when net/http sent an attempt more than once
	}
	req, err := c.request(rctx, body)
	if err != nil {
		fmt.Fprintf(stderr, "retry: %v\n", err)
		return exitUsage
	}
	opts := []retry.Option{p}
	if c.statuses != nil {
		opts = append(opts, retry.WithClassifier(httpx.RetryStatuses(c.statuses...)))
	}
	hl := &httpLog{maxDelay: c.maxDelay}
	if c.verbose {
		hl.logger = newLogger(stderr, c.attempts, "not retryable (-status, or the request is not idempotent)")
	}
	opts = append(opts, retry.WithObserver(&retry.Observer{RetryScheduled: hl.retrying}))

	began := time.Now()
	resp, err := httpx.Do(&http.Client{}, req, opts...)
	if err != nil {
		hl.outcome(err, time.Since(began))
		if sig, _ := rl.signalled(); sig != nil {
			return signalStatus(sig)
		}
		fmt.Fprintf(stderr, "retry: %s %s: %s\n", req.Method, req.URL.Redacted(), failure(err))
		return exitNoResponse
	}
	defer resp.Body.Close()
	hl.response(resp, time.Since(began))
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "retry: reading the response body: %v\n", err)
		if sig, _ := rl.signalled(); sig != nil {
			return signalStatus(sig)
		}
		return exitNoResponse
	}
	return statusExit(resp.StatusCode)
}

// failure is err's message for the line that already starts with the
// program's name, the method and the URL: without the library's "retry: "
// and net/http's repetition of the method and the URL.
func failure(err error) string {
	msg := strings.TrimPrefix(err.Error(), "retry: ")
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, fmt.Sprintf("%s %q: ", ue.Op, ue.URL), "")
	}
	return msg
}

// requestBody returns the -d data: the literal text, or a file's contents
// for @file. Without -d it returns nil.
func (c *config) requestBody() ([]byte, error) {
	name, isFile := strings.CutPrefix(c.data, "@")
	if !isFile {
		if c.data == "" {
			return nil, nil
		}
		return []byte(c.data), nil
	}
	return os.ReadFile(name)
}

// request builds the request with a replayable body (bytes.Reader sets
// GetBody, so httpx can send it again on every attempt).
func (c *config) request(ctx context.Context, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, r)
	if err != nil {
		return nil, err
	}
	req.Header = c.headers.Clone()
	if host := req.Header.Get("Host"); host != "" {
		// net/http sends req.Host and ignores a Host entry in the header.
		req.Host = host
		req.Header.Del("Host")
	}
	if c.idempotent && req.Header.Get("Idempotency-Key") == "" && req.Header.Get("X-Idempotency-Key") == "" {
		// net/http's convention: a nil-valued Idempotency-Key marks the
		// request idempotent without sending the header.
		req.Header["Idempotency-Key"] = nil
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d does
	}
	return req, nil
}

// statusExit maps the final HTTP status to retry http's exit status.
func statusExit(code int) int {
	switch {
	case code >= 500:
		return exitHTTP5xx
	case code >= 400:
		return exitHTTP4xx
	}
	return 0
}

// httpLog counts attempts through the observer and, with -v, logs them.
type httpLog struct {
	logger   *logger       // nil without -v
	attempts int           // attempts that failed and were retried
	maxDelay time.Duration // -max-delay, to explain a refused Retry-After
}

func (h *httpLog) retrying(ctx context.Context, e retry.RetryInfo) {
	h.attempts = e.Attempt
	if h.logger != nil {
		h.logger.retryScheduled(ctx, e)
	}
}

// outcome logs a loop that ended without a response.
func (h *httpLog) outcome(err error, elapsed time.Duration) {
	if h.logger != nil {
		h.logger.outcome(err, h.attempts+1, elapsed)
	}
}

// response logs the final response: a success, or the status retries
// ended on and why they ended there (httpx.Outcome); with the number of
// times net/http sent the final attempt's request, which no retry line
// shows, when it was counted.
func (h *httpLog) response(resp *http.Response, elapsed time.Duration) {
	if h.logger == nil {
		return
	}
	var sends []slog.Attr
	if n, counted := httpx.Sends(resp); counted {
		sends = []slog.Attr{slog.Int("sends", n)}
	}
	if resp.StatusCode < 400 {
		h.logger.succeeded(h.attempts+1, elapsed, sends...)
		return
	}
	attrs := []slog.Attr{
		slog.Int("attempt", h.attempts+1), slog.Int("max_attempts", h.logger.maxAttempts),
		slog.String("status", resp.Status),
	}
	if e, ok := httpx.Outcome(resp); ok {
		attrs[0] = slog.Int("attempt", e.Attempts)
		attrs = append(attrs, slog.String("reason", h.why(e)))
	}
	attrs = append(attrs, sends...)
	attrs = append(attrs, slog.Duration("elapsed", roundDuration(elapsed)))
	h.logger.log.LogAttrs(context.Background(), slog.LevelInfo, "giving up", attrs...)
}

// why says in the flags' terms why the retries ended on a status.
func (h *httpLog) why(e *retry.Error) string {
	if errors.Is(e.Reason, retry.ErrHintTooLong) {
		return fmt.Sprintf("Retry-After %v exceeds -max-delay %v", e.RetryAfter, h.maxDelay)
	}
	return h.logger.reason(e.Reason)
}
