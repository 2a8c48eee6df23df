package grpcbench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// TestContract checks that every client does the same work: one server
// call on success, three (two UNAVAILABLE, then OK) when it retries.
func TestContract(t *testing.T) {
	for _, lib := range Libs {
		for _, fail := range []int64{0, 2} {
			if fail > 0 && lib.Name == "plain" {
				continue
			}
			srv := &Server{FailFirst: fail}
			addr, stop, err := Start(srv)
			require.NoError(t, err)
			c, closeConn, err := Client(addr, lib)
			require.NoError(t, err)
			for range 5 {
				_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
				require.NoError(t, err, lib.Name)
			}
			require.EqualValues(t, 5*(fail+1), srv.Calls(), "%s, %d failures", lib.Name, fail)
			closeConn()
			stop()
		}
	}
}
