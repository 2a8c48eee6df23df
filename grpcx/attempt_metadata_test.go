package grpcx

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
)

type otherKey struct{}

// TestAttemptContext: every attempt after the first carries
// grpc-previous-rpc-attempts beside the outgoing metadata the caller's
// context had, whichever way it was set; the first attempt's context is
// the caller's. The metadata shared between calls stays as it was built.
func TestAttemptContext(t *testing.T) {
	require.NotNil(t, outgoingKey, "this grpc-go keeps outgoing metadata where the probe finds it")
	bg := context.Background()
	withMD := metadata.NewOutgoingContext(bg, metadata.Pairs("auth", "a"))
	for name, tc := range map[string]struct {
		ctx  context.Context
		has  bool
		want metadata.MD // besides grpc-previous-rpc-attempts
	}{
		"none":                   {bg, false, metadata.MD{}},
		"a value of another key": {context.WithValue(bg, otherKey{}, 1), false, metadata.MD{}},
		"NewOutgoingContext":     {withMD, true, metadata.Pairs("auth", "a")},
		"nil metadata":           {metadata.NewOutgoingContext(bg, nil), true, metadata.MD{}},
		"appended":               {metadata.AppendToOutgoingContext(bg, "Trace", "t"), true, metadata.Pairs("trace", "t")},
		"both, under a value":    {context.WithValue(metadata.AppendToOutgoingContext(withMD, "trace", "t"), otherKey{}, 1), true, metadata.Pairs("auth", "a", "trace", "t")},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.has, hasOutgoingMetadata(tc.ctx))
			assert.Equal(t, tc.ctx, attemptContext(tc.ctx, 1), "the first attempt: the caller's context")
			for _, n := range []int{2, 3, len(previousAttemptsMD) + 1, len(previousAttemptsMD) + 2, 100} {
				got, ok := metadata.FromOutgoingContext(attemptContext(tc.ctx, n))
				require.True(t, ok)
				want := tc.want.Copy()
				want.Append(previousAttemptsKey, strconv.Itoa(n-1))
				assert.Equal(t, want, got, "attempt %d", n)
			}
		})
	}
	for i, md := range previousAttemptsMD {
		assert.Equal(t, metadata.Pairs(previousAttemptsKey, strconv.Itoa(i+1)), md)
	}
}
