package httpx

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
)

type resendKey struct{}

// CountResends returns a copy of ctx with which [Do] and the transport of
// [NewTransport] count, for the requests made with it, how many times
// net/http's [http.Transport] writes the request during each attempt (see
// "Attempts and sends" in the package documentation). An attempt that
// wrote it more than once fails with a [*ResentError] around its usual
// error, and [Sends] gives the count of the attempt that returned a
// response (and says when there was none). Counting uses an
// [httptrace.ClientTrace] (any trace already on ctx still runs) and costs
// about seven allocations per attempt, which is why it is not on by
// default. Only requests sent through an *http.Transport (including
// [http.DefaultTransport]) can be counted. A nil ctx does not panic: the
// returned context (a child of [context.Background]) fails every request
// made with it with an error wrapping [retry.ErrInvalidConfig], before
// anything is sent.
func CountResends(ctx context.Context) context.Context {
	if ctx == nil {
		ctx = nilContext("httpx.CountResends")
	}
	return context.WithValue(ctx, resendKey{}, true)
}

// Sends reports whether the sends of resp's request were counted at all,
// and if so how many times net/http's [http.Transport] wrote that request
// in full during the attempt resp answers. Only requests made with a
// context from [CountResends] are counted: for any other, counted is
// false and sends 0, which says nothing about how often it was sent.
//
// When counted, sends is 1, or 2 or more when net/http sent the request
// again by itself within that attempt (see [ResentError]). resp is a
// response from [Do], or from a client using the transport of
// [NewTransport]. Even under CountResends, nothing is counted (counted is
// false) for a request net/http never sends twice (a POST without an
// Idempotency-Key, a body GetBody cannot produce again), or one sent
// through a RoundTripper other than an *http.Transport. The count names
// the response it belongs to: a later request built from resp's context
// (with resp.Request.Context()) carries it too, but its response reads as
// not counted unless it was counted itself, and so does the response of
// an attempt that was retried. Like a *ResentError, it is how a caller
// learns about the final attempt, which no hook sees. Sends is safe to
// call once the response has been returned.
func Sends(resp *http.Response) (sends int, counted bool) {
	if resp == nil || resp.Request == nil {
		return 0, false
	}
	s, _ := resp.Request.Context().Value(sendCountKey{}).(*sendCount)
	if s == nil || s.resp.Load() != resp {
		return 0, false
	}
	return s.total(true), true
}

type sendCountKey struct{}

func countingResends(ctx context.Context) bool {
	on, _ := ctx.Value(resendKey{}).(bool)
	return on
}

// ResentError wraps an attempt's error, under [CountResends], when
// net/http's [http.Transport] sent the request more than once during that
// one attempt: a request it deems replayable (GET, HEAD, OPTIONS, TRACE,
// or one with an Idempotency-Key header, with a body it can produce again)
// that fails on a reused keep-alive connection is written again on a new
// connection before RoundTrip returns, and the retry loop sees one
// attempt. The server may have received every one of those sends.
//
// Attempt errors reach the policy's hooks ([retry.WithNotify]) and the
// returned [*retry.Error]; errors.As(err, &re) with re a *ResentError
// finds the count. Classification sees through it: [errors.Is] and
// [errors.As] reach the wrapped error, a [*StatusError] for instance.
type ResentError struct {
	// Err is the attempt's error: a *StatusError, or the transport's error.
	Err error
	// Sends is the number of times the request was written in full during
	// the attempt, 2 or more.
	Sends int
}

func (e *ResentError) Error() string {
	return fmt.Sprintf("%v (sent %d times in this attempt: net/http sent it again after a reused connection failed)", e.Err, e.Sends)
}

// Unwrap returns Err.
func (e *ResentError) Unwrap() error { return e.Err }

// resentByNetHTTP reports whether net/http's Transport may send req again
// by itself after a failure on a reused connection: its rule for a
// replayable request (the body is checked by the caller).
func resentByNetHTTP(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	_, xok := req.Header["X-Idempotency-Key"]
	return ok || xok
}

// sendCount counts the times net/http writes one attempt's request in full,
// through an [httptrace.ClientTrace]. GotConn marks each connection the
// Transport is about to write a request on, WroteRequest a write that
// completed, GotFirstResponseByte an answer (after which a new connection
// serves a redirect, not a second send). net/http waits for a failed
// connection's writer before it tries the next connection, so a completed
// write on an earlier connection is always counted; the last connection's
// write is certain only once the attempt has failed without a response
// (with a response, the request was evidently sent). A nil *sendCount
// counts nothing.
type sendCount struct {
	trace    httptrace.ClientTrace
	earlier  atomic.Int32 // complete writes on connections given up without an answer
	current  atomic.Bool  // a complete write on the latest connection
	answered atomic.Bool  // the latest connection answered
	// resp is the response the attempt returned, the one Sends counts for;
	// nil until it returns one.
	resp atomic.Pointer[http.Response]
}

func newSendCount() *sendCount {
	s := &sendCount{}
	s.trace = httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			wrote, answered := s.current.Swap(false), s.answered.Swap(false)
			if wrote && !answered {
				s.earlier.Add(1)
			}
		},
		GotFirstResponseByte: func() { s.answered.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				s.current.Store(true)
			}
		},
	}
	return s
}

// answers records resp as the response of the attempt, the one [Sends]
// gives the count of.
func (s *sendCount) answers(resp *http.Response) {
	if s != nil {
		s.resp.Store(resp)
	}
}

// traced returns ctx with the counting trace, and the count itself for
// [Sends].
func (s *sendCount) traced(ctx context.Context) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(httptrace.WithClientTrace(ctx, &s.trace), sendCountKey{}, s)
}

// total returns the number of complete sends of the attempt; answered says
// a response came (so its send counts even if its write is not recorded
// yet). A nil *sendCount counted nothing: 0.
func (s *sendCount) total(answered bool) int {
	if s == nil {
		return 0
	}
	n := int(s.earlier.Load())
	if answered || s.current.Load() {
		n++
	}
	return n
}

// wrap returns err as a *ResentError when the attempt sent the request
// more than once; answered says a response came (so its send counts even
// if its write is not recorded yet).
func (s *sendCount) wrap(err error, answered bool) error {
	n := s.total(answered)
	if n < 2 {
		return err
	}
	return &ResentError{Err: err, Sends: n}
}

// wrapper returns the wrapping for a response's status error, or nil.
func (s *sendCount) wrapper() func(error) error {
	if s == nil || s.earlier.Load() == 0 {
		return nil
	}
	return func(err error) error { return s.wrap(err, true) }
}
