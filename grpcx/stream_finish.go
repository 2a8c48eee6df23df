package grpcx

import (
	"io"

	"google.golang.org/grpc"
)

// The caller's grpc.OnFinish call options on a stream that is not hedged.
// grpc-go calls them as each attempt's stream finishes, so a retried
// stream would call them once per attempt; grpc-go promises once per
// RPC. The attempts run with one of ours instead, and the caller's run
// once: with the end of the attempt the stream committed to (or of the
// current one once the caller's context ended), as grpc-go finishes it;
// or with the error the caller receives when the stream ends before a
// commit.

// takeOnFinish removes the OnFinish options from callOpts and returns
// the rest and their callbacks; callOpts itself and nil when there are
// none (no allocation).
func takeOnFinish(callOpts []grpc.CallOption) ([]grpc.CallOption, []func(error)) {
	var fs []func(error)
	var rest []grpc.CallOption
	for i, o := range callOpts {
		var f func(error)
		switch o := o.(type) {
		case grpc.OnFinishCallOption:
			f = o.OnFinish
		case *grpc.OnFinishCallOption:
			f = o.OnFinish
		default:
			if fs != nil {
				rest = append(rest, o)
			}
			continue
		}
		if fs == nil {
			rest = append(rest, callOpts[:i]...)
		}
		fs = append(fs, f)
	}
	if fs == nil {
		return callOpts, nil
	}
	return rest, fs
}

// attemptOpts returns the call options of attempt a.
func (s *retryingStream) attemptOpts(a *attempt) []grpc.CallOption {
	if s.onFinish == nil {
		return s.callOpts
	}
	return append(s.callOpts[:len(s.callOpts):len(s.callOpts)], grpc.OnFinish(func(err error) { s.attemptFinished(a, err) }))
}

// attemptFinished runs the caller's callbacks with err when grpc-go
// finished the attempt the stream committed to, or the current attempt
// once the caller's context ended; any other attempt's end waits for the
// stream's (see finishCallbacks).
func (s *retryingStream) attemptFinished(a *attempt, err error) {
	s.mu.Lock()
	run := !s.onFinished && s.cur == a && (s.committed || s.ctx.Err() != nil)
	if run {
		s.onFinished = true
	}
	s.mu.Unlock()
	if run {
		s.runOnFinish(err)
	}
}

// finishCallbacks runs the caller's callbacks, once, with the stream's
// end. s.mu is not held.
func (s *retryingStream) finishCallbacks(end error) {
	if s.onFinish == nil {
		return
	}
	s.mu.Lock()
	run := !s.onFinished
	s.onFinished = true
	s.mu.Unlock()
	if run {
		if end == io.EOF {
			end = nil
		}
		s.runOnFinish(end)
	}
}

func (s *retryingStream) runOnFinish(err error) {
	for _, f := range s.onFinish {
		f(err)
	}
}
