package benchmarks

import (
	"context"
	"errors"
)

// Op is one attempt of a workload's operation. Every adapter calls it once
// per attempt.
type Op func(context.Context) (int, error)

// Runner runs op under one library's policy (retry loop, breaker or budget)
// and returns the value and error the library hands back. A Runner is built
// once and is safe for concurrent use unless its constructor says otherwise.
type Runner func(context.Context, Op) (int, error)

// MaxAttempts is the attempt limit (first call plus retries) of every retry
// adapter: 3 retries, so "3 failures then success" succeeds on the last
// allowed attempt.
const MaxAttempts = 4

// BreakerThreshold is the number of consecutive failures after which every
// breaker adapter opens.
const BreakerThreshold = 5

// Errors the workloads' operations return. ErrTransient is retried by every
// adapter; ErrPermanent stops every adapter after one call.
var (
	ErrTransient = errors.New("transient failure")
	ErrPermanent = errors.New("permanent failure")
)

// IsPermanent reports whether err is, or wraps, ErrPermanent: the
// classification every adapter applies.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// Succeed is the operation of the success workload.
func Succeed(context.Context) (int, error) { return 1, nil }

// FailPermanently is the operation of the permanent-error workload.
func FailPermanently(context.Context) (int, error) { return 0, ErrPermanent }

// FailThenSucceed returns an operation that fails with ErrTransient n times,
// then succeeds once, and starts over: every group of n+1 calls is one
// complete "n failures then success" sequence. It is not safe for concurrent
// use; give each goroutine its own.
func FailThenSucceed(n int) Op {
	calls := 0
	return func(context.Context) (int, error) {
		calls++
		if calls%(n+1) != 0 {
			return 0, ErrTransient
		}
		return calls, nil
	}
}

// FailEvery returns an operation that fails with ErrTransient on every n-th
// call and succeeds otherwise (n = 10 gives 10% failures, never two in a
// row). It is not safe for concurrent use; give each goroutine its own.
func FailEvery(n int) Op {
	calls := 0
	return func(context.Context) (int, error) {
		calls++
		if calls%n == 0 {
			return 0, ErrTransient
		}
		return calls, nil
	}
}

// Counted wraps op so that every call increments *calls, for the contract
// test.
func Counted(op Op, calls *int) Op {
	return func(ctx context.Context) (int, error) {
		*calls++
		return op(ctx)
	}
}
