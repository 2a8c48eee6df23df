package grpcx_test

import (
	"math"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestThrottlingLikeGrpcGo runs the same failing calls through grpc-go's
// own retries with retryThrottling{maxTokens: 10, tokenRatio: 0.1} and
// through the interceptor with ThrottlingBudget(10, 0.1): the 5th
// consecutive failure is not retried by either, and the next call is not
// retried at all. Our calls have no attempt limit: the budget alone
// stops them.
func TestThrottlingLikeGrpcGo(t *testing.T) {
	noLeaks(t)
	always := failFirst(1<<30, codes.Unavailable)

	builtin := &server{unary: always}
	cc, err := grpc.NewClient(listen(t, builtin), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{
		"methodConfig": [{"name": [{"service": "grpc.testing.TestService"}], "retryPolicy": {
			"maxAttempts": 5, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
			"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}],
		"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}`))
	require.NoError(t, err)
	defer cc.Close()

	ours := &server{unary: always}
	budget, err := grpcx.ThrottlingBudget(10, 0.1)
	require.NoError(t, err)
	c := serve(t, ours, grpcx.Config{Idempotent: idempotent},
		append(fast, retry.WithMaxAttempts(0), retry.WithBudget(budget))...)

	var builtinCalls, ourCalls []int
	for range 2 {
		before := builtin.count(unaryMethod)
		_, err := testgrpc.NewTestServiceClient(cc).UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
		assert.Equal(t, codes.Unavailable, status.Code(err))
		builtinCalls = append(builtinCalls, builtin.count(unaryMethod)-before)

		before = ours.count(unaryMethod)
		_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
		assert.ErrorIs(t, err, retry.ErrBudgetExhausted)
		ourCalls = append(ourCalls, ours.count(unaryMethod)-before)
	}
	assert.Equal(t, []int{5, 1}, builtinCalls, "grpc-go")
	assert.Equal(t, builtinCalls, ourCalls)
}

func TestThrottlingBudgetInvalid(t *testing.T) {
	for _, tc := range [][2]float64{{0, 0.1}, {2, 0.1}, {1001, 0.1}, {math.NaN(), 0.1}, {10, 0}, {10, -1}, {10, math.NaN()}, {10, 11}} {
		b, err := grpcx.ThrottlingBudget(tc[0], tc[1])
		assert.ErrorIs(t, err, retry.ErrInvalidConfig, "%v", tc)
		assert.Nil(t, b)
	}
}
