// Package retry retries operations that can fail: a plain Go function, an
// HTTP call, a database transaction, an RPC.
package retry
