package grpcx

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TestUnaryCallResetKeepsNothing: a unary call's state goes back to its
// pool holding no reference to the call, whatever the number of the
// caller's call options: neither in callOpts nor in the array it is
// built in, which still holds the first options when they outgrew it
// (with 5 and 6 options).
func TestUnaryCallResetKeepsNothing(t *testing.T) {
	in := newInterceptor(Config{Idempotent: Methods("/s.S/Idempotent")}, nil)
	require.NoError(t, in.err)
	for _, method := range []string{"/s.S/Idempotent", "/s.S/Other"} {
		for n := range 9 {
			t.Run(fmt.Sprintf("%s with %d options", method, n), func(t *testing.T) {
				opts := make([]grpc.CallOption, n)
				for i := range opts {
					opts[i] = grpc.Header(&metadata.MD{})
				}
				var got []grpc.CallOption
				invoker := func(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, o ...grpc.CallOption) error {
					got = o
					return nil
				}
				c := unaryCalls.New().(*unaryCall)
				c.ctx, c.set, c.method, c.invoker, c.pol = t.Context(), &in.set, method, invoker, &in.base
				c.idempotent = in.set.isIdempotent(method, opts)
				c.setCallOptions(opts)
				require.NoError(t, c.attempt(t.Context()))
				require.Len(t, got, n+2, "the caller's options, the trailer's and the header's")
				assert.Equal(t, opts, got[:n])

				c.reset()
				assert.Equal(t, [len(c.buf)]grpc.CallOption{}, c.buf, "the array the options are built in is cleared")
				assert.Nil(t, c.callOpts)
				left := *c
				left.op = nil // a func: compared only to nil
				assert.Equal(t, unaryCall{trailerOpt: c.trailerOpt, headerOpt: c.headerOpt}, left, "only what is built once remains")
				assert.NotNil(t, c.op)
			})
		}
	}
}
