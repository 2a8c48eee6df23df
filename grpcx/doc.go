// Package grpcx retries gRPC client calls with the retry loop of package
// [github.com/retrykit/retry], following gRFC A6 (gRPC client retries):
// [UnaryClientInterceptor] and [StreamClientInterceptor] add retries to any
// [grpc.ClientConn]; [WithOptions] and [CallOptions] override the policy
// for one call.
package grpcx
