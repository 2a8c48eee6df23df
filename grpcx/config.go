package grpcx

import (
	"fmt"

	"github.com/retrykit/retry"
	"google.golang.org/grpc/codes"
)

// DefaultReplayLimit is the replay limit of a [Config] that leaves
// ReplayLimit at 0: 256 KiB, the size of grpc-go's own retry buffer for one
// RPC.
const DefaultReplayLimit = 256 << 10

// DefaultCodes returns the status codes retried when [Config].Codes is
// nil: UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED and DEADLINE_EXCEEDED (the
// last only when the policy's own attempt timeout fired, never the
// caller's deadline). See the package documentation for how idempotency
// narrows them. Each call returns a new slice.
func DefaultCodes() []codes.Code {
	return []codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded}
}

// Config is the gRPC side of the interceptors' configuration; the retry
// policy itself comes from the [retry.Option]s beside it. The zero Config
// is valid: no method is idempotent, the [DefaultCodes] are retried, and
// streams replay up to [DefaultReplayLimit] bytes.
//
// A Config is read once, when an interceptor is built; changing it (or
// the slice behind Codes) afterwards has no effect.
type Config struct {
	// Idempotent reports whether the method, by its full name
	// ("/package.Service/Method", as grpc-go passes it to interceptors), may
	// be sent again after the server may have processed it. nil means no
	// method is idempotent: every call is then retried only when the
	// request provably was not processed (see the package documentation).
	// [Methods] builds one from a list; [IdempotentCall] declares one call
	// idempotent whatever this says. It must be safe for concurrent use.
	// An interceptor also calls it twice when it is built, with names of a
	// service that does not exist, to find a Methods list that holds a
	// malformed name.
	Idempotent func(fullMethod string) bool

	// Codes is the set of status codes that may be retried; nil means
	// [DefaultCodes], and an empty non-nil slice retries nothing. INTERNAL and
	// UNKNOWN are retried only if listed here. DEADLINE_EXCEEDED, even
	// when listed, is retried only after the policy's own attempt timeout.
	// OK, and codes above 16, are invalid.
	Codes []codes.Code

	// ReplayLimit bounds, in bytes of encoded protobuf messages, what a
	// stream keeps to send again on a new attempt: the messages sent on a
	// client-streaming or bidirectional stream, the request of a server
	// stream. A stream whose sent messages outgrow it is no longer retried
	// (it keeps working). Unary calls keep nothing: the request is the
	// caller's. 0 means [DefaultReplayLimit]; negative is invalid.
	ReplayLimit int
}

// settings is a validated Config.
type settings struct {
	idempotent  func(string) bool
	codes       uint32 // bit c set: code c may be retried
	replayLimit int
}

func (c Config) settle() (settings, error) {
	s := settings{idempotent: c.Idempotent, replayLimit: c.ReplayLimit}
	cs := c.Codes
	if cs == nil {
		cs = DefaultCodes()
	}
	for _, code := range cs {
		if code == codes.OK || code > codes.Unauthenticated {
			return s, fmt.Errorf("%w: grpcx.Config.Codes: %v cannot be retried (valid: 1 to 16)", retry.ErrInvalidConfig, code)
		}
		s.codes |= 1 << code
	}
	if c.Idempotent != nil && c.Idempotent(probeInvalid) && !c.Idempotent(probeValid) {
		return s, fmt.Errorf("%w: grpcx.Methods: a name is not a full method name (\"/package.Service/Method\"): it would never match a call", retry.ErrInvalidConfig)
	}
	switch {
	case c.ReplayLimit < 0:
		return s, fmt.Errorf("%w: grpcx.Config.ReplayLimit must not be negative, got %d", retry.ErrInvalidConfig, c.ReplayLimit)
	case c.ReplayLimit == 0:
		s.replayLimit = DefaultReplayLimit
	}
	return s, nil
}

func (s *settings) retries(c codes.Code) bool { return c < 32 && s.codes&(1<<c) != 0 }
