package redisretry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServer is a redis-server of a test's own, on a port of its own,
// that the test kills and restarts.
type redisServer struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
}

// startServer starts a redis-server on a free loopback port, stopped when
// the test ends. It skips the test when redis-server is not installed
// (fails under CI=true, whose machine has it).
func startServer(t testing.TB) *redisServer {
	t.Helper()
	redisAddr(t) // the same skip rule as every Redis test
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &redisServer{t: t, port: port}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs the server and waits until it answers.
func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	require.NoError(s.t, s.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			s.t.Fatalf("redis-server on port %d did not answer within 10s", s.port)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill kills the server at once (SIGKILL) and waits for it to exit.
func (s *redisServer) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// proxy is a loopback TCP proxy to a Redis server that can stall (hold
// every byte until released), add latency to every read, or cut (close
// every connection, and each new one at once, until restored).
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	stall  chan struct{} // closed: flowing; open: stalled
	delay  time.Duration
	cut    bool
	hold   chan struct{} // not nil: replies wait until it is closed
	held   chan struct{} // a reply is waiting for hold
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// startProxy listens on a free loopback port and forwards to target, until
// the test ends.
func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l, target: target, stall: make(chan struct{}), held: make(chan struct{}, 1), conns: map[net.Conn]bool{}}
	close(p.stall)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

// setStalled stalls or releases the traffic.
func (p *proxy) setStalled(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stall:
		if on {
			p.stall = make(chan struct{})
		}
	default:
		if !on {
			close(p.stall)
		}
	}
}

// setDelay adds d before every chunk is forwarded.
func (p *proxy) setDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// setCut cuts every connection and refuses new ones (closing each once
// accepted), or restores the traffic.
func (p *proxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// holdReplies makes Redis's replies wait (the requests still flow) until
// release is called; held receives once a reply waits.
func (p *proxy) holdReplies() (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	hold := make(chan struct{})
	p.hold = hold
	return p.held, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.hold == hold {
			p.hold = nil
			close(hold)
		}
	}
}

func (p *proxy) gate(reply bool) (chan struct{}, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reply && p.hold != nil {
		select {
		case p.held <- struct{}{}:
		default:
		}
		return p.hold, p.delay
	}
	return p.stall, p.delay
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(u, c, false)
		go p.pipe(c, u, true)
	}
}

// pipe forwards from src to dst, held by the stall and the delay, and,
// for Redis's replies (reply), by holdReplies.
func (p *proxy) pipe(dst, src net.Conn, reply bool) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			stall, delay := p.gate(reply)
			<-stall
			if delay > 0 {
				time.Sleep(delay) // the latency the proxy adds, not a test's wait
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}

// close stops the proxy, its connections and its goroutines.
func (p *proxy) close() {
	_ = p.l.Close()
	p.setStalled(false)
	p.mu.Lock()
	if p.hold != nil {
		close(p.hold)
		p.hold = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
