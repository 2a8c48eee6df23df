package sim

// event is one thing that happens at a virtual instant: at is nanoseconds
// since the start of the run, seq breaks ties in the order events were
// scheduled (first in, first out), kind says what happens and ref/gen name
// the call (and the attempt of it) it happens to.
type event struct {
	at   int64
	seq  uint64
	ref  int32
	gen  uint32
	kind uint8
}

// queue is a binary min-heap of events ordered by (at, seq). It holds only
// what is scheduled, so its size is bounded by the work in flight, never by
// the number of events a run processes.
type queue struct {
	h    []event
	seq  uint64
	done uint64 // events popped so far
}

func (q *queue) len() int { return len(q.h) }

func less(a, b *event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// push schedules an event.
func (q *queue) push(at int64, kind uint8, ref int32, gen uint32) {
	q.seq++
	q.h = append(q.h, event{at: at, seq: q.seq, ref: ref, gen: gen, kind: kind})
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q.h[i], &q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

// pop removes and returns the earliest event; the queue must not be empty.
func (q *queue) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && less(&q.h[r], &q.h[l]) {
			m = r
		}
		if !less(&q.h[m], &q.h[i]) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	q.done++
	return top
}
