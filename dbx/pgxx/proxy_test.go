package pgxx_test

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// action is what the proxy does to the server's reply to a matched
// statement.
type action int32

const (
	// cut waits for the server's reply (so the server has run the
	// statement) and closes the client's connection instead of passing the
	// reply on: the client cannot know whether the statement took effect.
	cut action = iota + 1
	// hold withholds the server's reply (the server has run the statement)
	// and everything after it, until the client or the server closes the
	// connection or the test ends; the reply is never delivered.
	hold
)

// proxy is a loopback TCP proxy in front of the server. It forwards
// everything, except the replies to the statements chosen with arm.
type proxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	pattern []byte // lower case
	left    int    // matches still to act on; negative: every match
	act     action
	acted   atomic.Int32 // replies cut or held
	done    chan struct{}
	wg      sync.WaitGroup
}

func newProxy(t testing.TB, cfg *pgx.ConnConfig) (*proxy, *pgx.ConnConfig) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { close(p.done); _ = ln.Close(); p.wg.Wait() })
	via := cfg.Copy()
	via.Host = "127.0.0.1"
	via.Port = uint16(ln.Addr().(*net.TCPAddr).Port)
	via.TLSConfig = nil
	via.Fallbacks = nil
	return p, via
}

// arm makes the proxy act on the replies to the next n statements (every
// one when n < 0) whose text contains pattern, case-insensitively.
func (p *proxy) arm(pattern string, n int, a action) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pattern, p.left, p.act = bytes.ToLower([]byte(pattern)), n, a
}

// match reports the action for a chunk the client sent, 0 for none.
func (p *proxy) match(chunk []byte) action {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left == 0 || p.pattern == nil || !bytes.Contains(bytes.ToLower(chunk), p.pattern) {
		return 0
	}
	if p.left > 0 {
		p.left--
	}
	return p.act
}

func (p *proxy) serve() {
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
		var armed atomic.Int32
		clientGone := make(chan struct{})
		go p.toServer(c, s, &armed, clientGone)
		go p.toClient(s, c, &armed, clientGone)
	}
}

func (p *proxy) toServer(c, s net.Conn, armed *atomic.Int32, clientGone chan struct{}) {
	defer p.wg.Done()
	defer close(clientGone)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if a := p.match(buf[:n]); a != 0 {
				armed.Store(int32(a))
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = s.Close()
}

func (p *proxy) toClient(s, c net.Conn, armed *atomic.Int32, clientGone chan struct{}) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 && armed.Load() != 0 {
			// The server answered the statement: it has run it.
			p.acted.Add(1)
			if action(armed.Load()) == hold {
				p.drop(s, buf, clientGone)
			}
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

// drop reads and discards what the server sends until it closes the
// connection (after the client's Terminate), the client closes its own,
// or the test ends.
func (p *proxy) drop(s net.Conn, buf []byte, clientGone chan struct{}) {
	stop := make(chan struct{})
	defer close(stop)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-clientGone:
		case <-p.done:
		case <-stop:
			return
		}
		_ = s.Close()
	}()
	for {
		if _, err := s.Read(buf); err != nil {
			return
		}
	}
}
