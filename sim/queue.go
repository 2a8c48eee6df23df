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

// queue holds the scheduled events in (at, seq) order: a binary min-heap,
// and beside it a few first-in-first-out lanes for events scheduled a fixed
// delay ahead (a network hop, an attempt timeout), which therefore arrive
// in time order and need no sifting. Popping takes the earliest of the heap
// top and the lane heads, so the order is exactly that of one heap. It holds
// only what is scheduled, so its size is bounded by the work in flight,
// never by the number of events a run processes.
type queue struct {
	h     []event
	lanes [lanes]lane
	n     int // events held, heap and lanes
	seq   uint64
	done  uint64 // events popped so far
	// maxPending bounds n (see check); 0 means MaxPending. Tests lower it.
	maxPending int
}

// lanes is the number of FIFO lanes of a queue.
const lanes = 3

// lane is a FIFO of events in (at, seq) order.
type lane struct {
	ev   []event
	head int
}

func (q *queue) len() int { return q.n }

// first returns the earliest event without removing it; q must not be
// empty.
func (q *queue) first() *event {
	var best *event
	if len(q.h) > 0 {
		best = &q.h[0]
	}
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.head < len(l.ev) && (best == nil || less(&l.ev[l.head], best)) {
			best = &l.ev[l.head]
		}
	}
	return best
}

// pushLane schedules an event in lane i when it comes at or after the
// lane's last one, and in the heap otherwise.
func (q *queue) pushLane(i int, at int64, kind uint8, ref int32, gen uint32) {
	l := &q.lanes[i]
	if n := len(l.ev); n > l.head && l.ev[n-1].at > at {
		q.push(at, kind, ref, gen)
		return
	}
	if l.head > 0 && l.head >= len(l.ev)/2 {
		l.ev = l.ev[:copy(l.ev, l.ev[l.head:])]
		l.head = 0
	}
	q.seq++
	q.n++
	l.ev = append(l.ev, event{at: at, seq: q.seq, ref: ref, gen: gen, kind: kind})
}

func less(a, b *event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// push schedules an event.
func (q *queue) push(at int64, kind uint8, ref int32, gen uint32) {
	q.seq++
	q.n++
	e := event{at: at, seq: q.seq, ref: ref, gen: gen, kind: kind}
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&e, &q.h[p]) {
			break
		}
		q.h[i] = q.h[p]
		i = p
	}
	q.h[i] = e
}

// pop removes and returns the earliest event; the queue must not be empty.
func (q *queue) pop() event {
	q.n--
	q.done++
	li := -1
	var best *event
	if len(q.h) > 0 {
		best = &q.h[0]
	}
	for i := range q.lanes {
		l := &q.lanes[i]
		if l.head < len(l.ev) && (best == nil || less(&l.ev[l.head], best)) {
			li, best = i, &l.ev[l.head]
		}
	}
	if li >= 0 {
		l := &q.lanes[li]
		e := l.ev[l.head]
		l.head++
		if l.head == len(l.ev) {
			l.ev, l.head = l.ev[:0], 0
		}
		return e
	}
	top := q.h[0]
	n := len(q.h) - 1
	last := q.h[n]
	q.h = q.h[:n]
	if n == 0 {
		return top
	}
	// Move the hole at the root down to where last belongs.
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && less(&q.h[r], &q.h[c]) {
			c = r
		}
		if !less(&q.h[c], &last) {
			break
		}
		q.h[i] = q.h[c]
		i = c
	}
	q.h[i] = last
	return top
}
