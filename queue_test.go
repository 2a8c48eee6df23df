package retry

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// message is a queued piece of work: due at a virtual instant, with the
// retry progress stored beside it, as a queue would keep it in a header.
type message struct {
	id       int
	due      time.Time
	progress []byte // Progress.MarshalBinary, as a header would carry it
}

type queue []message

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].due.Before(q[j].due) || q[i].due.Equal(q[j].due) && q[i].id < q[j].id
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(message)) }
func (q *queue) Pop() any {
	old := *q
	m := old[len(old)-1]
	*q = old[:len(old)-1]
	return m
}

// TestQueueRedeliveryMatchesDo: 10,000 messages, each failing a drawn
// number of times, are re-delivered by a simulated queue at now + the
// engine's wait, their progress stored in binary between deliveries, on
// the test's own goroutine: nothing blocks. Each message ends with exactly
// the attempts, reason and total wait that Do gives the same message.
func TestQueueRedeliveryMatchesDo(t *testing.T) {
	const n = 10_000
	policy := func(id int) *Policy {
		p, err := NewPolicy(WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)),
			WithJitter(DecorrelatedJitter), WithMaxDelay(time.Second), WithRand(rand.New(rand.NewPCG(uint64(id), 7))))
		require.NoError(t, err)
		return p
	}
	failures := func(id int) int { return id % 7 } // 0 to 6 failures, then success
	type result struct {
		attempts int
		reason   error
		waited   time.Duration
	}
	var viaQueue [n]result
	start := time.Unix(1_700_000_000, 0)
	q := &queue{}
	for id := range n {
		heap.Push(q, message{id: id, due: start})
	}
	policies := make([]*Policy, n)
	for q.Len() > 0 {
		m := heap.Pop(q).(message)
		if policies[m.id] == nil {
			policies[m.id] = policy(m.id)
		}
		p := policies[m.id]
		var pr Progress
		if m.progress != nil {
			require.NoError(t, pr.UnmarshalBinary(m.progress))
		}
		ctx, pr, err := p.Begin(context.Background(), pr, m.due)
		require.NoError(t, err)
		if pr.Attempts > failures(m.id) {
			p.Succeeded(ctx, pr, m.due)
			viaQueue[m.id] = result{pr.Attempts, nil, m.due.Sub(start)}
			continue
		}
		v := p.Failed(ctx, pr, errProp, m.due)
		if v.Err != nil {
			viaQueue[m.id] = result{pr.Attempts, v.Err.(*Error).Reason, m.due.Sub(start)}
			continue
		}
		b, err := v.Next.MarshalBinary()
		require.NoError(t, err)
		heap.Push(q, message{id: m.id, due: m.due.Add(v.Wait), progress: b})
	}

	synctest.Test(t, func(t *testing.T) {
		for id := range n {
			calls, began := 0, time.Now()
			_, err := Do(context.Background(), func(context.Context) (int, error) {
				calls++
				if calls > failures(id) {
					return 0, nil
				}
				return 0, errProp
			}, policy(id))
			var reason error
			if err != nil {
				reason = err.(*Error).Reason
			}
			require.Equal(t, result{calls, reason, time.Since(began)}, viaQueue[id], "message %d", id)
		}
	})
}
