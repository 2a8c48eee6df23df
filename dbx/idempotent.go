package dbx

import "context"

type idempotentKey struct{}

// Idempotent returns a copy of ctx that declares the work done with it safe
// to apply twice: a transaction or statement whose effect does not change
// when it runs again (an upsert to a fixed value, a delete by key, a write
// that checks a unique request id). The helpers of this package called
// with it retry where the outcome of a COMMIT or of a statement is unknown,
// instead of stopping with [ErrCommitUnknown] or the connection error.
//
// The mark applies to every helper call made with the returned context
// and its children. A nil ctx does not panic: the returned context (a
// child of [context.Background]) fails every helper call made with it
// with an error wrapping [retry.ErrInvalidConfig], as one from
// [WithOptions] of a nil context does.
func Idempotent(ctx context.Context) context.Context {
	if ctx == nil {
		return nilContext("dbx.Idempotent")
	}
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether ctx was marked with [Idempotent]; false for
// a nil ctx.
func IsIdempotent(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}
