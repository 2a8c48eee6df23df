package httpx_test

import (
	"net/http"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/httpx"
	"github.com/stretchr/testify/assert"
)

// staticRT answers 200 with no body, from memory.
type staticRT struct{}

func (staticRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestSuccessPathAllocations pins the hot path: a request that succeeds at
// once allocates nothing more through httpx than without it.
func TestSuccessPathAllocations(t *testing.T) {
	var rt http.RoundTripper = staticRT{}
	c := &http.Client{Transport: rt}
	req, err := http.NewRequest(http.MethodGet, "http://api.test/", nil)
	assert.NoError(t, err)
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3))
	assert.NoError(t, err)
	tr := httpx.NewTransport(rt, retry.WithMaxAttempts(3))

	plain := testing.AllocsPerRun(100, func() { _, _ = c.Do(req) })
	assert.Equal(t, plain, testing.AllocsPerRun(100, func() { _, _ = httpx.Do(c, req, p) }), "Do with a policy")
	assert.Equal(t, plain, testing.AllocsPerRun(100, func() { _, _ = httpx.Do(c, req) }), "Do with the defaults")
	wrapped := &http.Client{Transport: tr}
	assert.Equal(t, plain, testing.AllocsPerRun(100, func() { _, _ = wrapped.Do(req) }), "transport")
}
