package retry

import "sync/atomic"

// The strategies of this package and the classifiers StopOn and RetryOn
// of one error are made once per distinct argument and shared: the
// constructor returns a pointer (a strategy) or a func value (a
// classifier) that an interface holds as is, so that options written in
// the call of Do, such as WithBackoff(Exponential(10*time.Millisecond, 2))
// or WithClassifier(StopOn(ErrNotFound)), allocate nothing once made.
// The values are immutable, so sharing them changes nothing a caller can
// see. Each table keeps the first internSlots distinct arguments it is
// given for the life of the process (a program has a handful); beyond
// that, each call makes a new value, as if there were no table.

// internSlots is the number of distinct arguments a table keeps.
const internSlots = 32

// internTable maps up to internSlots keys to the value made for each. It
// is safe for concurrent use, without locks: a slot, once filled, never
// changes.
type internTable[K comparable, V any] struct {
	slots [internSlots]atomic.Pointer[internEntry[K, V]]
}

type internEntry[K comparable, V any] struct {
	k K
	v V
}

// get returns the value kept for k, or keeps and returns make(k). A key
// that is not equal to itself (one holding a NaN) is never kept. make
// must not capture variables, or calling get would allocate its closure.
func (t *internTable[K, V]) get(k K, make func(K) V) V {
	if k != k { // a NaN: no slot would ever match it
		return make(k)
	}
	for i := range t.slots {
		e := t.slots[i].Load()
		if e == nil {
			e = &internEntry[K, V]{k, make(k)}
			if t.slots[i].CompareAndSwap(nil, e) {
				return e.v
			}
			e = t.slots[i].Load() // another goroutine filled it first
		}
		if e.k == k {
			return e.v
		}
	}
	return make(k)
}
