package retry

import (
	"fmt"
	"math"
	"time"
)

// maxDuration is the largest time.Duration; strategy arithmetic saturates at it.
const maxDuration = time.Duration(math.MaxInt64)

// A Strategy computes the base delay before a retry: Delay(1) is the wait
// before the second attempt, Delay(2) before the third, and so on. Arguments
// below 1 are treated as 1.
//
// A Strategy is a pure function of its argument: it holds no per-call state,
// so one value can be shared by any number of policies and goroutines. The
// loop caps the result at the policy's maximum delay and then applies
// jitter; a negative result is treated as zero.
type Strategy interface {
	Delay(retry int) time.Duration
}

// StrategyFunc adapts a plain function to the [Strategy] interface, the way
// http.HandlerFunc adapts a function to http.Handler.
type StrategyFunc func(retry int) time.Duration

// Delay returns f(retry).
func (f StrategyFunc) Delay(retry int) time.Duration { return f(retry) }

// The strategies of this package are options too, so that WithBackoff
// passes them on without allocating one more value; see ownStrategy.
func (constant) isOption()    {}
func (linear) isOption()      {}
func (exponential) isOption() {}
func (fibonacci) isOption()   {}

// validator is implemented by the strategies of this package, which cannot
// return an error from their constructors: they record it, and NewPolicy
// (or Do) reports it wrapped in ErrInvalidConfig.
type validator interface {
	validate() error
}

// Constant returns a Strategy that waits d before every retry.
// A negative d makes the policy invalid.
func Constant(d time.Duration) Strategy { return constant{d} }

type constant struct{ d time.Duration }

func (c constant) Delay(int) time.Duration { return c.d }

func (c constant) validate() error {
	return checkNonNegative("Constant delay", c.d)
}

// Linear returns a Strategy that waits initial + (n−1)·step before retry n:
// initial, initial+step, initial+2·step, … The sum saturates at the
// largest time.Duration instead of overflowing. A negative initial or step
// makes the policy invalid.
func Linear(initial, step time.Duration) Strategy { return linear{initial, step} }

type linear struct{ initial, step time.Duration }

func (l linear) Delay(retry int) time.Duration {
	n := int64(max(retry, 1) - 1)
	if l.step > 0 && n > int64(maxDuration-l.initial)/int64(l.step) {
		return maxDuration
	}
	return l.initial + time.Duration(n)*l.step
}

func (l linear) validate() error {
	if err := checkNonNegative("Linear initial delay", l.initial); err != nil {
		return err
	}
	return checkNonNegative("Linear step", l.step)
}

// Exponential returns a Strategy that waits initial·multiplierⁿ⁻¹ before
// retry n: with (100ms, 2), 100ms, 200ms, 400ms, … The product saturates at
// the largest time.Duration. A negative initial, or a multiplier below 1,
// NaN or infinite, makes the policy invalid.
func Exponential(initial time.Duration, multiplier float64) Strategy {
	return exponential{initial, multiplier}
}

type exponential struct {
	initial    time.Duration
	multiplier float64
}

func (e exponential) Delay(retry int) time.Duration {
	if e.initial <= 0 {
		return e.initial
	}
	f := float64(e.initial) * math.Pow(e.multiplier, float64(max(retry, 1)-1))
	if !(f < float64(maxDuration)) { // also catches +Inf and NaN
		return maxDuration
	}
	return time.Duration(f)
}

func (e exponential) validate() error {
	if err := checkNonNegative("Exponential initial delay", e.initial); err != nil {
		return err
	}
	if math.IsNaN(e.multiplier) || math.IsInf(e.multiplier, 0) || e.multiplier < 1 {
		return fmt.Errorf("%w: Exponential multiplier must be a finite number >= 1, got %v", ErrInvalidConfig, e.multiplier)
	}
	return nil
}

// Fibonacci returns a Strategy that waits unit times the Fibonacci numbers
// 1, 1, 2, 3, 5, 8, … before retries 1, 2, 3, … The product saturates at
// the largest time.Duration. A negative unit makes the policy invalid.
func Fibonacci(unit time.Duration) Strategy { return fibonacci{unit} }

type fibonacci struct{ unit time.Duration }

func (f fibonacci) Delay(retry int) time.Duration {
	if f.unit == 0 {
		return 0
	}
	a, b := int64(1), int64(1) // fib(1), fib(2)
	for i := 1; i < retry; i++ {
		if b == math.MaxInt64 || b > math.MaxInt64/int64(f.unit) {
			return maxDuration // the next number saturated, or its product would overflow
		}
		a, b = b, satAdd(a, b)
	}
	return time.Duration(a) * f.unit
}

func (f fibonacci) validate() error {
	return checkNonNegative("Fibonacci unit", f.unit)
}

func checkNonNegative(what string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: %s must not be negative, got %v", ErrInvalidConfig, what, d)
	}
	return nil
}

// satAdd returns a+b for non-negative a and b, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
