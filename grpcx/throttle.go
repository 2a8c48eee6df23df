package grpcx

import (
	"fmt"
	"math"

	"github.com/retrykit/retry"
)

// ThrottlingBudget returns a [retry.Budget] that throttles retries as gRFC
// A6's retryThrottling{maxTokens, tokenRatio} does: the bucket holds
// maxTokens and starts full, a retry costs one token, a call that succeeds
// gives back tokenRatio, and no retry is made once a failure would leave
// the bucket at or below half full. Share one budget among every call to a
// server, as A6 keeps one bucket per server name, and pass it with
// [retry.WithBudget].
//
// A6 stops retrying when the tokens are at or below maxTokens/2, so the
// budget's Threshold is one resolution step (1e-6 token) above
// maxTokens/2: ThrottlingBudget(10, 0.1) grants 4 retries in a row and
// refuses the 5th, as grpc-go does. One difference remains: A6 also takes a
// token for a failure that is not retried (the last attempt of a call, or a
// status outside the retried set), the budget only for the retries it
// grants, so after a long run of failures it lets retries resume sooner.
//
// maxTokens must be in (2, 1000] (A6's upper bound; at 2 or less no retry
// could ever be made) and tokenRatio in (0, maxTokens]; other values, NaN
// included, return an error wrapping [retry.ErrInvalidConfig].
func ThrottlingBudget(maxTokens, tokenRatio float64) (*retry.Budget, error) {
	switch {
	case math.IsNaN(maxTokens) || maxTokens <= 2 || maxTokens > 1000:
		return nil, fmt.Errorf("%w: grpcx.ThrottlingBudget: maxTokens must be in (2, 1000], got %v", retry.ErrInvalidConfig, maxTokens)
	case math.IsNaN(tokenRatio) || tokenRatio <= 0 || tokenRatio > maxTokens:
		return nil, fmt.Errorf("%w: grpcx.ThrottlingBudget: tokenRatio must be in (0, maxTokens], got %v", retry.ErrInvalidConfig, tokenRatio)
	}
	return retry.NewBudget(retry.BudgetConfig{
		Capacity:   maxTokens,
		PerSuccess: tokenRatio,
		Threshold:  maxTokens/2 + 1e-6,
	})
}
