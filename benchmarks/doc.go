// Package benchmarks measures retrykit side by side with other Go retry,
// circuit-breaker and rate-limiting libraries.
//
// Every library gets the same workload through an adapter written the way
// the library's own documentation recommends. Each adapter has the shape of
// [Runner]: it runs an [Op] (one attempt) under the library's policy and
// returns what the library returns. The contract test proves that every
// adapter does the same work (the same number of calls of the operation, the
// same classification of a permanent error, a breaker that opens after the
// same number of failures, the same number of HTTP requests) before any
// benchmark number is trusted.
//
// Retry workloads use zero delays, so the numbers measure the libraries'
// overhead rather than sleeping.
//
// This is a separate module so that the retrykit module keeps zero
// dependencies. Nothing here is meant to be imported.
package benchmarks
