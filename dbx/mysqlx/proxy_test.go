package mysqlx_test

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// commitCutter is a loopback TCP proxy in front of the server. It forwards
// everything, except that for the next cuts COMMITs it forwards the COMMIT,
// waits for the server's reply (so the server has committed) and closes
// the client's connection instead of passing the reply on: the client
// cannot know whether its transaction committed.
type commitCutter struct {
	ln      net.Listener
	target  string
	cuts    atomic.Int32
	cutDone atomic.Int32
	wg      sync.WaitGroup
}

func newCommitCutter(t testing.TB, cfg *mysql.Config) (*commitCutter, *mysql.Config) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &commitCutter{ln: ln, target: cfg.Addr}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	via := cfg.Clone()
	via.Net = "tcp"
	via.Addr = ln.Addr().String()
	return p, via
}

func (p *commitCutter) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		var armed atomic.Bool
		go p.toServer(c, s, &armed)
		go p.toClient(s, c, &armed)
	}
}

// commitQuery matches the COM_QUERY packet of a COMMIT, as the driver
// sends it: a 3-byte length, a sequence number, the command byte 0x03.
var commitQuery = []byte("commit")

func (p *commitCutter) toServer(c, s net.Conn, armed *atomic.Bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if len(chunk) > 4 && chunk[4] == 0x03 && bytes.Contains(bytes.ToLower(chunk), commitQuery) && p.cuts.Add(-1) >= 0 {
				armed.Store(true)
			}
			if _, werr := s.Write(chunk); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = s.Close()
}

func (p *commitCutter) toClient(s, c net.Conn, armed *atomic.Bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 && armed.Load() {
			// The server answered the COMMIT: it is done. Cut the client off.
			p.cutDone.Add(1)
			break
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = c.Close()
	_ = s.Close()
}
