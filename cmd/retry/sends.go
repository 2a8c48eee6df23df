package main

import (
	"context"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/retrykit/retry"
)

// sendTally counts, for -v, how many times the request of a call was
// written in full over all its attempts: once per attempt, plus the sends
// net/http's Transport makes by itself within an attempt (a replayable
// request that failed on a reused connection is written again on a new
// one). A redirect followed within an attempt is another request, not
// counted. It follows each attempt through an httptrace.ClientTrace that
// the observer's AttemptStart puts on the attempt's context.
//
// Its methods are safe for concurrent use: the trace's hooks run on
// net/http's goroutines.
type sendTally struct {
	total atomic.Int64 // sends of the attempts that ended

	// The attempt in progress: net/http waits for a failed connection's
	// writer before it tries the next connection, so a complete write on an
	// earlier connection is counted by the time GotConn reports the next;
	// the latest connection's write is certain once the attempt has ended.
	earlier  atomic.Int32 // complete writes on connections given up without an answer
	wrote    atomic.Bool  // a complete write on the latest connection
	answered atomic.Bool  // the latest connection answered
	trace    httptrace.ClientTrace
}

func newSendTally() *sendTally {
	t := &sendTally{}
	t.trace = httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			wrote, answered := t.wrote.Swap(false), t.answered.Swap(false)
			if wrote && !answered {
				t.earlier.Add(1)
			}
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				t.wrote.Store(true)
			}
		},
		GotFirstResponseByte: func() { t.answered.Store(true) },
	}
	return t
}

// attemptStart is the observer's AttemptStart: a new attempt, traced.
func (t *sendTally) attemptStart(ctx context.Context, _ retry.AttemptStartInfo) context.Context {
	t.earlier.Store(0)
	t.wrote.Store(false)
	t.answered.Store(false)
	return httptrace.WithClientTrace(ctx, &t.trace)
}

// attemptEnd is the observer's AttemptEnd: the attempt's sends are added
// to the total. An answer proves a send whose write was not reported yet.
func (t *sendTally) attemptEnd(context.Context, retry.AttemptEndInfo) {
	n := int64(t.earlier.Load())
	if t.wrote.Load() || t.answered.Load() {
		n++
	}
	t.total.Add(n)
}

// sends returns the sends of the attempts that ended.
func (t *sendTally) sends() int { return int(t.total.Load()) }
