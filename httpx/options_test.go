package httpx_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithOptionsOverride(t *testing.T) {
	for _, viaTransport := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "Transport"}[viaTransport], func(t *testing.T) {
			e := newEnv(t)
			s := &script{statuses: []int{503}}
			srv, _ := e.server(s.ServeHTTP)
			ctx := httpx.WithOptions(context.Background(), retry.WithMaxAttempts(3))
			ctx = httpx.WithOptions(ctx, retry.WithMaxAttempts(2)) // inner wins
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			clientOpts := append(fast, retry.WithMaxAttempts(5))
			var resp *http.Response
			if viaTransport {
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, clientOpts...)}).Do(req)
			} else {
				resp, err = httpx.Do(e.client(), req, clientOpts...)
			}
			require.NoError(t, err)
			assert.Equal(t, 503, resp.StatusCode)
			readClose(t, resp)
			assert.EqualValues(t, 2, s.n.Load(), "the request's options override the client's")

			// Without an override, the client-level policy applies.
			s.n.Store(0)
			req, err = http.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			if viaTransport {
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr, clientOpts...)}).Do(req)
			} else {
				resp, err = httpx.Do(e.client(), req, clientOpts...)
			}
			require.NoError(t, err)
			readClose(t, resp)
			assert.EqualValues(t, 5, s.n.Load())
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	newEnv(t)
	body := newBody("x")
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
	require.NoError(t, err)
	req.Body = body
	rt := httpx.NewTransport(nil, retry.WithMaxAttempts(-1))
	resp, err := rt.RoundTrip(req)
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.True(t, body.closed.Load(), "RoundTrip closes the body, even on errors")

	body = newBody("x")
	req.Body = body
	resp, err = httpx.Do(nil, req, retry.WithJitter(retry.ProportionalJitter(2)))
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.True(t, body.closed.Load())

	resp, err = httpx.Do(nil, nil)
	require.Nil(t, resp)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)

	for _, rt := range []http.RoundTripper{httpx.NewTransport(nil), httpx.NewTransport(nil, retry.WithMaxAttempts(-1))} {
		resp, err = rt.RoundTrip(nil)
		require.Nil(t, resp)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
	}
}

// A base that is a nil pointer or a nil func inside a non-nil interface
// cannot send anything: every RoundTrip says so instead of panicking.
func TestTypedNilBase(t *testing.T) {
	for name, base := range map[string]http.RoundTripper{
		"*http.Transport": (*http.Transport)(nil),
		"func":            rtFunc(nil),
	} {
		t.Run(name, func(t *testing.T) {
			body := newBody("x")
			req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:1/", nil)
			require.NoError(t, err)
			req.Body = body
			rt := httpx.NewTransport(base, fast...)
			resp, err := rt.RoundTrip(req)
			require.Nil(t, resp)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.ErrorContains(t, err, "nil")
			assert.True(t, body.closed.Load(), "RoundTrip closes the body, even on errors")
			(&http.Client{Transport: rt}).CloseIdleConnections()
		})
	}
}

// A nil context given to WithOptions or CountResends does not panic: the
// requests made with the context returned fail with ErrInvalidConfig,
// naming the call, without reaching the server, through Do and the
// transport alike, and their bodies are closed.
func TestNilContext(t *testing.T) {
	var nilCtx context.Context
	for name, ctx := range map[string]context.Context{
		"httpx.WithOptions":  httpx.WithOptions(nilCtx, retry.WithMaxAttempts(2)),
		"httpx.CountResends": httpx.CountResends(nilCtx),
	} {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, ctx)
			for _, nested := range []context.Context{ctx, httpx.WithOptions(ctx, retry.WithMaxAttempts(3)), httpx.CountResends(ctx)} {
				e := newEnv(t)
				s := &script{statuses: []int{200}}
				srv, _ := e.server(s.ServeHTTP)
				body := newBody("x")
				req, err := http.NewRequestWithContext(nested, http.MethodPut, srv.URL, body)
				require.NoError(t, err)
				resp, err := httpx.Do(e.client(), req)
				re := requireNoResponse(t, resp, err)
				assert.ErrorIs(t, re, retry.ErrInvalidConfig)
				assert.ErrorContains(t, err, name+": nil context")
				assert.True(t, body.closed.Load())

				req, err = http.NewRequestWithContext(nested, http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				resp, err = (&http.Client{Transport: httpx.NewTransport(e.tr)}).Do(req)
				assert.Nil(t, resp)
				assert.ErrorIs(t, err, retry.ErrInvalidConfig)
				assert.Zero(t, s.n.Load(), "nothing reached the server")
			}
		})
	}
}
