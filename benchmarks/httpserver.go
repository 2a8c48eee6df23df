package benchmarks

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// FlakyServer is a loopback HTTP server whose responses repeat in groups:
// failures responses of 503 Service Unavailable followed by one 200 OK, each
// with a short body and no Retry-After header. Requests counts the requests
// it served and Conns the connections it accepted.
type FlakyServer struct {
	*httptest.Server
	Requests atomic.Int64
	Conns    atomic.Int64
}

// NewFlakyServer starts a FlakyServer; failures = 0 answers 200 to every
// request. Close it when done.
func NewFlakyServer(failures int) *FlakyServer {
	s := &FlakyServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.Requests.Add(1)
		if n%int64(failures+1) != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.Conns.Add(1)
		}
	}
	s.Start()
	return s
}
