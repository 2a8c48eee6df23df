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
// and its children.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether ctx was marked with [Idempotent].
func IsIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}
