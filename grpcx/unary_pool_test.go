package grpcx

import (
	"context"
	"fmt"
	"testing"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TestUnaryCallOptions: the caller's grpc.Header and grpc.Trailer (as
// values or pointers) never reach an attempt, which collects its own
// header and trailer instead (see deliver); a header option makes an
// idempotent call ask for the header too.
func TestUnaryCallOptions(t *testing.T) {
	var h, tr metadata.MD
	wait := grpc.WaitForReady(true)
	for name, tc := range map[string]struct {
		idempotent bool
		caller     []grpc.CallOption
		header     bool // the call asks grpc-go for the header
	}{
		"idempotent, no options":           {true, nil, false},
		"idempotent, Header":               {true, []grpc.CallOption{grpc.Header(&h), wait}, true},
		"idempotent, *Header and *Trailer": {true, []grpc.CallOption{&grpc.HeaderCallOption{HeaderAddr: &h}, wait, &grpc.TrailerCallOption{TrailerAddr: &tr}}, true},
		"idempotent, Trailer":              {true, []grpc.CallOption{wait, grpc.Trailer(&tr)}, false},
		"not idempotent, no options":       {false, nil, true},
		"not idempotent, Header":           {false, []grpc.CallOption{grpc.Header(&h), wait}, true},
	} {
		t.Run(name, func(t *testing.T) {
			c := unaryCalls.New().(*unaryCall)
			c.idempotent = tc.idempotent
			c.setCallOptions(tc.caller)
			want := []grpc.CallOption{c.trailerOpt}
			if len(tc.caller) > 0 {
				want = []grpc.CallOption{wait, c.trailerOpt}
			}
			if tc.header {
				want = append(want, c.headerOpt)
			}
			assert.Equal(t, want, c.callOpts)
		})
	}
}

// TestUnaryCallResetKeepsNothing: a unary call's state goes back to its
// pool holding no reference to the call, whatever the number of the
// caller's call options: neither in callOpts nor in the array it is
// built in, which still holds the first options when they outgrew it
// (with 5 and 6 options). Each attempt gets the caller's options, the
// trailer's, and the header's for a method not declared idempotent.
func TestUnaryCallResetKeepsNothing(t *testing.T) {
	in := newInterceptor(Config{Idempotent: Methods("/s.S/Idempotent")}, nil)
	require.NoError(t, in.err)
	for _, method := range []string{"/s.S/Idempotent", "/s.S/Other"} {
		for n := range 9 {
			t.Run(fmt.Sprintf("%s with %d options", method, n), func(t *testing.T) {
				opts := make([]grpc.CallOption, n)
				for i := range opts {
					opts[i] = grpc.WaitForReady(true)
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
				_, err := c.attempt(t.Context())
				require.NoError(t, err)
				ours := 2
				if c.idempotent {
					ours = 1
				}
				require.Len(t, got, n+ours, "the caller's options, the trailer's and (not idempotent) the header's")
				assert.Equal(t, opts, got[:n])

				c.reset()
				assert.Equal(t, [len(c.buf)]grpc.CallOption{}, c.buf, "the array the options are built in is cleared")
				assert.Nil(t, c.callOpts)
				left := *c
				left.op, left.hop = nil, nil // funcs: compared only to nil
				assert.Equal(t, unaryCall{trailerOpt: c.trailerOpt, headerOpt: c.headerOpt}, left, "only what is built once remains")
				assert.NotNil(t, c.op)
				assert.NotNil(t, c.hop)
			})
		}
	}
}

// TestOptionsUsedFlag: until the first WithOptions no call looks for
// options on its context; the first WithOptions sets the flag before its
// context can reach a call, which then finds its options.
func TestOptionsUsedFlag(t *testing.T) {
	optionsUsed.Store(false)
	t.Cleanup(func() { optionsUsed.Store(true) }) // true is always correct: calls look
	in := newInterceptor(Config{}, nil)
	require.NoError(t, in.err)
	pol, err := in.policy(t.Context(), nil, false)
	require.NoError(t, err)
	assert.Same(t, &in.base, pol)

	ctx := WithOptions(t.Context(), retry.WithMaxAttempts(1))
	assert.True(t, optionsUsed.Load())
	pol, err = in.policy(ctx, nil, false)
	require.NoError(t, err)
	assert.NotSame(t, &in.base, pol, "the context's options apply")

	optionsUsed.Store(false)
	var nilCtx context.Context
	_, err = in.policy(WithOptions(nilCtx, retry.WithMaxAttempts(1)), nil, false)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig, "a nil context's WithOptions sets the flag too")
}
