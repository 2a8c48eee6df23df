package retry

// The failure-rate window: windowBuckets buckets, each one atomic word
// packing the low bits of its epoch (the bucket-width period it counts, on
// the breaker's timeline) with its failures and its attempts. A bucket whose
// tag is not that of the current period it stands for is stale and reads as
// empty; the first attempt recorded into it resets it.
const (
	windowBuckets = 10
	bucketCount   = 21 // bits per count; counts saturate at 2²¹−1
	bucketMax     = 1<<bucketCount - 1
	tagShift      = 2 * bucketCount
	tagMask       = 1<<(64-tagShift) - 1
)

// recordWindow counts an attempt that ended at clk in its bucket and, for a
// failure, reports whether the failure-rate rule now says to open.
func (b *Breaker) recordWindow(failed bool, clk *clock) (trip bool) {
	return b.recordAt(uint64(b.tl.since(clk.now())/b.width), failed)
}

// recordAt is recordWindow for an attempt that ended in bucket period
// epoch. An attempt from a period that has already left the window (its
// goroutine was held up, or its caller passed an old instant) is not
// counted: resetting its bucket would erase the counts of a later period.
// The latest period seen is kept for that test, so it needs no clock.
func (b *Breaker) recordAt(epoch uint64, failed bool) (trip bool) {
	if b.latestEpoch(epoch)-epoch >= windowBuckets {
		return false
	}
	bk := &b.buckets[epoch%windowBuckets]
	tag := epoch & tagMask
	for {
		old := bk.Load()
		var f, n uint64
		if old>>tagShift == tag {
			f, n = old>>bucketCount&bucketMax, old&bucketMax
		}
		n = min(n+1, bucketMax)
		if failed {
			f = min(f+1, bucketMax)
		}
		if bk.CompareAndSwap(old, tag<<tagShift|f<<bucketCount|n) {
			break
		}
	}
	if !failed {
		return false
	}
	f, n := b.windowCounts(epoch)
	return n >= b.minCalls && float64(f) >= b.rate*float64(n)
}

// latestEpoch raises the latest bucket period seen to epoch, if it is
// later, and returns the latest.
func (b *Breaker) latestEpoch(epoch uint64) uint64 {
	for {
		cur := b.latest.Load()
		if epoch <= cur || b.latest.CompareAndSwap(cur, epoch) {
			return max(cur, epoch)
		}
	}
}

// windowCounts sums the failures and attempts of the window that ends with
// bucket period epoch.
func (b *Breaker) windowCounts(epoch uint64) (f, n uint64) {
	for k := uint64(0); k < windowBuckets && k <= epoch; k++ {
		e := epoch - k
		if w := b.buckets[e%windowBuckets].Load(); w>>tagShift == e&tagMask {
			f += w >> bucketCount & bucketMax
			n += w & bucketMax
		}
	}
	return f, n
}
