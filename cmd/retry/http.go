package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	ctx, rl, stop := listenSignals(ctx, false)
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
	hl := newHTTPLog(c, stderr)
	opts = append(opts, retry.WithObserver(hl.observer()))

	began := time.Now()
	resp, err := httpx.Do(&http.Client{}, req, opts...)
	if err != nil {
		o := hl.failure(req, err, rl)
		hl.report(o, time.Since(began))
		return o.status
	}
	defer resp.Body.Close()
	o := hl.response(req, resp)
	_, err = io.Copy(stdout, resp.Body)
	hl.report(o, time.Since(began))
	if err != nil {
		fmt.Fprintf(stderr, "retry: reading the response body: %v\n", err)
		if sig, _ := rl.signalled(); sig != nil {
			return signalStatus(sig)
		}
		return exitNoResponse
	}
	return o.status
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
