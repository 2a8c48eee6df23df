package retry

// The breaker's half-open probes. A probe takes one of HalfOpenProbes
// slots, counted in the state word, and holds it until it reports, or until
// its lease ends (BreakerConfig.ProbeLease).

// admitProbe asks at clk for a half-open probe slot. It admits the attempt
// into a free slot, or, when every slot is held and their lease has ended
// (see BreakerConfig.ProbeLease), into a new half-open period that
// forfeits them: the generation changes, so their reports are recognised
// as an earlier period's and change nothing. decided is false when the
// circuit is no longer half-open.
//
// Half-open admissions take b.pmu, not b.mu, so that OnStateChange (called
// under b.mu) never waits for them; a change of state under b.mu may still
// race with one, which its compare-and-swap loop absorbs. b.leaseEnd is
// written only under b.pmu, before the slot it covers is taken: whoever
// sees every slot held sees their lease, or a later one.
func (b *Breaker) admitProbe(clk *clock) (t ticket, ok, decided bool) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	now := b.tl.since(clk.now())
	for {
		s := b.st.Load()
		if kindOf(s) != BreakerHalfOpen {
			return 0, false, false
		}
		end, base := satAdd(now, b.lease), s
		switch {
		case inflightOf(s) < b.probes:
			if inflightOf(s) > 0 {
				end = max(end, b.leaseEnd.Load()) // the latest admission's lease
			}
		case now < b.leaseEnd.Load():
			return 0, false, true
		default:
			base = nextState(s, BreakerHalfOpen) // the probes in flight are forfeited
		}
		b.leaseEnd.Store(end)
		if b.st.CompareAndSwap(s, base+oneInflight) {
			return ticket(base), true, true
		}
	}
}

// probeDone records the outcome of a probe admitted in half-open period t.
func (b *Breaker) probeDone(t ticket, o outcome, clk *clock, rnd *lockedRand) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		s := b.st.Load()
		if genOf(s) != genOf(uint64(t)) || inflightOf(s) == 0 {
			return // that half-open period is over
		}
		switch o {
		case outcomeFailure:
			b.open(s, clk, rnd)
			return
		case outcomeSuccess:
			next := s - oneInflight + oneSuccess
			if successesOf(next) >= b.probes {
				b.closeCircuit(s, clk)
				return
			}
			if b.st.CompareAndSwap(s, next) {
				return
			}
		default:
			if b.st.CompareAndSwap(s, s-oneInflight) {
				return
			}
		}
	}
}
