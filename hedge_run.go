package retry

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The hedged loop: Do's driver when the policy hedges. The caller's
// goroutine runs the first copy of an attempt, and every copy that starts
// when none runs (a retry after its wait); a timer starts the hedges, each
// on a goroutine of its own (the timer's). Every decision is the attempt
// step's (step.go) and decide's, taken under the call's lock, so the
// observer's events of one call never overlap. The copies' ends are in
// hedge_copy.go.

// The causes a copy's context is cancelled with.
var (
	errHedgeLost     = errors.New("retry: hedged call: another copy won")
	errHedgeEnded    = errors.New("retry: hedged call: another copy ended the call")
	errHedgePushback = errors.New("retry: hedged call: another copy was told to wait (After)")
	errHedgeReturned = errors.New("retry: hedged call: the copy returned")
)

type hedgeState uint8

const (
	hedgeRunning hedgeState = iota
	hedgeWon
	hedgeStopped
)

// hedgeCall is the state of one hedged call, shared by its copies.
type hedgeCall[T any] struct {
	ctx     context.Context // the caller's
	cfg     config
	op      func(context.Context) (T, error)
	discard func(T)
	first   hedgeCopy // the caller's copy, reused for each retry

	mu       sync.Mutex    // guards everything below, and serialises the hooks
	wake     chan struct{} // made by the first hedge or wait: a token when no copy runs, or the wait ended
	pr       Progress      // the call: attempts begun, start, previous wait, sum of waits, hedges
	running  []*hedgeCopy  // in runBuf while it fits
	runBuf   [4]*hedgeCopy
	timer    *time.Timer    // starts the next hedge (fire), or ends a wait
	fires    sync.WaitGroup // the timer's runs scheduled and not yet returned
	sleeping bool           // the timer ends a wait, not a hedge delay
	armed    bool           // a run of the timer is due for the arming in force
	due      time.Time      // when it is due
	shortcut bool           // a failed copy's replacement started at once since the last retry
	noHedge  bool           // a hedge was refused, or a copy pushed back: no more this call
	state    hedgeState
	v, last  T               // the winner's value; the last value a failed copy returned
	stop     *Error          // why the call stopped
	octx     context.Context // the context of the call's last events
	pushback error           // a hinted error, the next decision's
	pbTimed  bool            // pushback's copy hit its attempt timeout
	pbLast   T               // the value pushback's copy returned
	wait     time.Duration
	hint     time.Duration
	lastErr  error // the error the retry was decided on
	granted  int8  // a retry the budget granted that has not begun (1, or 2 at the timeout cost)
	panicked bool
	exited   bool // the copy that ended the call called runtime.Goexit
	panicVal any
}

// hedgeCopy is one copy of the call's attempt.
type hedgeCopy struct {
	pr      Progress        // the copy's attempt step: its number, admission, observer state
	octx    context.Context // its hooks' context (AttemptStart's)
	cctx    context.Context // octx, cancellable by the call
	cancel  context.CancelCauseFunc
	actx    context.Context // op's: cctx, with the attempt timeout
	tcancel context.CancelFunc
	start   time.Time // for the adaptive delay
	settled bool
}

// doHedged runs a call of DoHedged: it checks the type of the discard
// function, and hedges when the policy does (otherwise it is Do's loop).
func doHedged[T any](ctx context.Context, op func(context.Context) (T, error), cfg *config) (T, error) {
	var zero T
	l := loop{ctx: ctx}
	if e := l.valid(cfg, op == nil); e != nil {
		return zero, e
	}
	discard, e := hedgeDiscard[T](cfg)
	if e != nil {
		return zero, e
	}
	if cfg.hedge.max < 2 {
		return do(ctx, op, cfg)
	}
	h := &hedgeCall[T]{ctx: ctx, cfg: *cfg, op: op, discard: discard}
	h.running = h.runBuf[:0]
	return h.run()
}

// run drives the call from the caller's goroutine.
func (h *hedgeCall[T]) run() (T, error) {
	defer h.fires.Wait() // a run of the timer that lost the race with its Stop
	returned := false
	cp := &h.first
	defer func() {
		if !returned {
			h.unwind(cp)
		}
	}()
	for {
		*cp = hedgeCopy{}
		if e := h.beginRetry(cp); e != nil {
			returned = true
			return h.last, e
		}
		v, err := h.call(cp)
		h.settle(cp, v, err)
		h.await(func() bool { return len(h.running) == 0 })
		if h.state == hedgeRunning && !h.panicked {
			if e := h.sleep(); e != nil {
				returned = true
				return h.last, e
			}
			continue
		}
		returned = true
		return h.end()
	}
}

// beginRetry begins the copy that runs on the caller's goroutine, when no
// other runs: the first attempt or a retry. It arms the hedge timer.
func (h *hedgeCall[T]) beginRetry(cp *hedgeCopy) *Error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.cfg
	var clk clock
	octx, e := c.begin(h.ctx, &h.pr, h.lastErr, h.hint, &clk)
	h.granted = 0
	if e != nil {
		h.stopTimer()
		return e
	}
	cp.pr = h.pr
	h.pr.held, h.pr.started = false, false // the copy holds them
	h.shortcut = false
	h.launch(cp, octx, &clk)
	if !h.noHedge && h.attemptsLeft() {
		h.armTimer(c.hedge.next())
	}
	return nil
}

// fire is the timer's: it ends a wait, or starts a hedge and runs it. A
// copy whose operation (or hook) panics, or calls runtime.Goexit, ends the
// call: the caller's goroutine panics with the same value, or exits, once
// the other copies have ended (copyPanicked).
func (h *hedgeCall[T]) fire() {
	defer h.fires.Done()
	cp := new(hedgeCopy)
	returned := false
	defer func() {
		if r := recover(); r != nil {
			h.copyPanicked(cp, r, false)
		} else if !returned {
			h.copyPanicked(cp, nil, true) // runtime.Goexit: recover sees nothing
		}
	}()
	if h.startHedge(cp) {
		v, err := h.call(cp)
		h.settle(cp, v, err)
	}
	returned = true
}

// startHedge begins a hedge, if one may start now: the run is the timer's
// for the arming in force, the call runs, fewer than the maximum copies
// run, attempts are left, the elapsed limit has not passed, and the budget
// and the breaker admit it. It reports whether cp began.
func (h *hedgeCall[T]) startHedge(cp *hedgeCopy) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.cfg
	if !h.takeFire() {
		return false // a run of an older arming
	}
	if h.sleeping {
		h.sleeping = false
		h.signal()
		return false
	}
	if h.state != hedgeRunning || h.noHedge || len(h.running) == 0 || len(h.running) >= c.hedge.max ||
		!h.attemptsLeft() || h.ctx.Err() != nil {
		return false
	}
	var clk clock
	if c.maxElapsed > 0 && clk.since(h.pr.Start) >= c.maxElapsed {
		// As Do sends no retry past the limit: no more hedges; the copies
		// running end, and the decision on the last stops the call
		// (ErrMaxElapsed), unless one succeeds.
		h.noHedge = true
		return false
	}
	if c.budget != nil && !c.budget.withdraw(false, &clk) {
		h.noHedge = true
		return false
	}
	cp.pr = h.pr
	if c.breaker != nil && !c.breaker.admit(&cp.pr, &clk) {
		if c.budget != nil {
			c.budget.refund(false)
		}
		h.noHedge = true
		return false
	}
	h.pr.Attempts++
	h.pr.hedges++
	cp.pr.Attempts, cp.pr.hedges, cp.pr.hedge = h.pr.Attempts, h.pr.hedges, true
	began := false
	defer func() {
		if !began && c.budget != nil {
			c.budget.refund(false) // AttemptStart or BreakerChange panicked: the hedge is not sent
		}
	}()
	octx := h.ctx
	if h.wake == nil {
		h.wake = make(chan struct{}, 1)
	}
	h.running = append(h.running, cp) // before the hooks: a panic there settles it
	if c.observer != nil {
		octx = c.observeStart(h.ctx, &cp.pr, &clk)
	}
	began = true
	h.running = h.running[:len(h.running)-1]
	h.launch(cp, octx, &clk)
	if len(h.running) < c.hedge.max && h.attemptsLeft() {
		h.armTimer(c.hedge.next())
	}
	return true
}

// launch gives the admitted copy cp its contexts and counts it running.
func (h *hedgeCall[T]) launch(cp *hedgeCopy, octx context.Context, clk *clock) {
	cp.octx = octx
	cp.cctx, cp.cancel = context.WithCancelCause(octx)
	cp.actx = cp.cctx
	if h.cfg.attemptTimeout > 0 {
		cp.actx, cp.tcancel = context.WithTimeout(cp.cctx, h.cfg.attemptTimeout)
	}
	if h.cfg.hedge.adaptive != nil {
		cp.start = clk.now()
	}
	h.running = append(h.running, cp)
}

// call runs op for cp, freeing a half-open probe slot if op panics.
func (h *hedgeCall[T]) call(cp *hedgeCopy) (T, error) {
	if cp.pr.held && cp.pr.ticket.probe() {
		return callProbe(h.cfg.breaker, h.cfg.rand, &cp.pr, h.op, cp.actx)
	}
	return h.op(cp.actx)
}

// attemptsLeft reports whether the attempt limit allows another copy.
func (h *hedgeCall[T]) attemptsLeft() bool {
	return h.cfg.maxAttempts == 0 || h.pr.Attempts < h.cfg.maxAttempts
}
