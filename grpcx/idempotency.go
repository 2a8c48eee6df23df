package grpcx

import (
	"fmt"
	"strings"

	"google.golang.org/grpc"
)

// A call is idempotent when sending it twice does no more than sending it
// once: then a failure that may have come after the server processed it
// can be retried. The interceptors learn it from Config.Idempotent (by
// method) and from IdempotentCall (for one call).

// Methods returns an Idempotent predicate that is true for exactly the
// listed full method names, for example
// "/grpc.testing.TestService/UnaryCall". It is safe for concurrent use,
// and allocates nothing.
//
// A name that is not a full method name ("/" + service + "/" + method,
// neither part empty nor containing "/"), such as "UnaryCall" or
// "grpc.testing.TestService/UnaryCall", would never match a call: an
// interceptor whose Config holds such a list is invalid, and fails every
// call with an error wrapping [retry.ErrInvalidConfig].
func Methods(fullMethods ...string) func(fullMethod string) bool {
	for _, m := range fullMethods {
		if !fullMethodName(m) {
			// Known to the interceptors by its answers to the probes.
			return func(m string) bool { return m == probeInvalid }
		}
	}
	return newMethodSet(fullMethods).has
}

// fullMethodName reports whether m has the form "/service/method".
func fullMethodName(m string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	return strings.HasPrefix(m, "/") && ok && service != "" && method != "" && !strings.Contains(method, "/")
}

// Two full names of a service no one defines. A predicate made by Methods
// from a list with a malformed name is true for the first and false for
// the second; no predicate that tests names (or answers the same for
// every name) is.
const (
	probeInvalid = "/grpcx.internal.Methods/Invalid"
	probeValid   = "/grpcx.internal.Methods/Valid"
)

// IdempotentCall returns a [grpc.CallOption] that declares one call
// idempotent, whatever [Config].Idempotent says of its method: the
// interceptors then retry it on every retried status, as they do the
// methods Config.Idempotent names. Use it for a call made safe to repeat
// by its request (one that carries a key the server deduplicates on, say)
// when its method is not idempotent in general:
//
//	resp, err := client.CreateOrder(ctx, req, grpcx.IdempotentCall())
//
// It works for unary calls and streams. grpc-go itself ignores it;
// without one of this package's interceptors it has no effect.
func IdempotentCall() grpc.CallOption { return idempotentCall{} }

type idempotentCall struct{ grpc.EmptyCallOption }

// isIdempotent reports whether a call of method with callOpts may be sent
// again after the server may have processed it.
func (s *settings) isIdempotent(method string, callOpts []grpc.CallOption) bool {
	for _, o := range callOpts {
		if _, ok := o.(idempotentCall); ok {
			return true
		}
	}
	return s.idempotent != nil && s.idempotent(method)
}

// notIdempotent is the failure of a call of method, not declared
// idempotent, that is not retried because the server may have processed
// it, as why says: its message says what would allow the retry.
func notIdempotent(method, why string, err error) error {
	return fmt.Errorf("grpcx: not retried: %s, and %s is not declared idempotent "+
		"(to retry it, name it in grpcx.Config.Idempotent, as grpcx.Methods(%q) does, or pass grpcx.IdempotentCall() to this call): %w",
		why, method, method, err)
}

// unreplayable is the failure of a stream that is not retried because it
// can no longer be sent again, for the reason why (see keep).
func unreplayable(why string, err error) error {
	return fmt.Errorf("grpcx: not retried: the stream cannot be sent again: %s: %w", why, err)
}
