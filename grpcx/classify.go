package grpcx

import (
	"context"
	"fmt"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// failure is what an attempt knows about its failure.
type failure struct {
	err        error       // as grpc-go returned it
	trailer    metadata.MD // the attempt's trailer, if any
	method     string      // the call's full method name
	idempotent bool        // the call may be sent again
	ownTimeout bool        // the policy's attempt timeout ended the attempt
	unsent     bool        // the stream could not be created: nothing reached the server
	answered   bool        // response headers arrived: the server handled the call, which is committed
	noReplay   string      // why a stream can no longer be sent again; "" if it can
}

// judge turns the failure of an attempt into the error the core loop
// sees: err itself to retry it (the policy's classifiers may still stop
// it), retry.TimedOut for the policy's own attempt timeout, retry.After to
// retry it after a server hint, retry.Permanent to stop because the
// server answered (a final status, or response headers: see committed),
// retry.NotIdempotent to stop a failure that would be retried but must not
// be sent again. ctx is the caller's; pol the call's
// classification policy, which decides whether a hinted error is retried
// at all (After overrides the classifiers).
func (s *settings) judge(ctx context.Context, f failure, pol *retry.Policy) error {
	err := f.err
	if ctx.Err() != nil {
		return err // the caller's own end: the loop stops on it
	}
	code := status.Code(err)
	pushback, hasPushback, pushbackOK := parsePushback(f.trailer.Get(pushbackKey))
	switch {
	case !s.retries(code):
		return retry.Permanent(err)
	case code == codes.DeadlineExceeded && !f.ownTimeout:
		return retry.Permanent(err) // the caller's deadline, as the server saw it
	case hasPushback && !pushbackOK:
		return retry.Permanent(fmt.Errorf("grpcx: the server asked not to retry (%s: %q): %w",
			pushbackKey, f.trailer.Get(pushbackKey), err))
	}
	hint, hinted := pushback, hasPushback
	if !hinted {
		hint, hinted = retryInfo(err)
	}
	switch {
	case f.answered:
		return committed(err)
	case f.noReplay != "":
		return retry.NotIdempotent(unreplayable(f.noReplay, err))
	case !f.unsent && !f.idempotent && !unprocessed(code, hasPushback, hinted):
		return retry.NotIdempotent(notIdempotent(f.method, err))
	case hinted && retriedBy(pol, err):
		return retry.After(hint, err)
	case f.ownTimeout:
		return retry.TimedOut(err)
	}
	return err
}

// committed is the failure of a unary attempt whose response headers
// arrived before it failed. gRFC A6 commits a call at its response
// headers, idempotent or not, and grpc-go's own retries never retry one
// (they retry trailers-only responses only); streams are committed in the
// same way (see RecvMsg). The headers are the server's answer, so the
// call stops as for a final status: a breaker counts it as a success, as
// it does a stream that its headers committed.
func committed(err error) error {
	return retry.Permanent(fmt.Errorf("grpcx: not retried: the server sent response headers before it failed, which commits the call (gRFC A6): %w", err))
}

// unprocessed reports whether a failure of a non-idempotent method, in a
// trailers-only response, proves the server did not process it:
// UNAVAILABLE with a pushback trailer (the server refused it), or
// RESOURCE_EXHAUSTED with any hint.
func unprocessed(code codes.Code, pushback, hinted bool) bool {
	switch code {
	case codes.Unavailable:
		return pushback
	case codes.ResourceExhausted:
		return hinted
	}
	return false
}

// retryInfo returns the retry delay of a google.rpc.RetryInfo detail of
// err's status, if it has a valid, non-negative one.
func retryInfo(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, d := range st.Details() { // no copy of the status, unlike st.Proto()
		ri, ok := d.(*errdetails.RetryInfo)
		if !ok || ri.GetRetryDelay() == nil || ri.GetRetryDelay().CheckValid() != nil {
			continue
		}
		if delay := ri.GetRetryDelay().AsDuration(); delay >= 0 {
			return delay, true
		}
	}
	return 0, false
}

// retriedBy reports whether the policy retries err after a first
// attempt: pol is the call's policy without breaker, budget, hook, waits
// or limits (see newCalls), so only the classification decides, and
// deciding allocates nothing.
func retriedBy(pol *retry.Policy, err error) bool {
	now := time.Now()
	return pol.Failed(context.Background(), retry.Progress{Attempts: 1, Start: now}, err, now).Err == nil
}

// ownTimeout reports whether a unary attempt that ran with context actx,
// derived from the caller's ctx by the loop, was ended by the policy's
// attempt timeout rather than by the caller's deadline, at time now.
// grpc-go can report DEADLINE_EXCEEDED a moment before actx's own timer
// marks it done, so now is compared with actx's deadline too.
func ownTimeout(ctx, actx context.Context, now time.Time) bool {
	if actx == ctx {
		return false
	}
	ad, ok := actx.Deadline()
	if !ok {
		return false
	}
	if cd, ok := ctx.Deadline(); ok && !ad.Before(cd) {
		return false // the attempt's deadline is the caller's
	}
	return actx.Err() != nil || !now.Before(ad)
}
