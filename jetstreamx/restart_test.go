package jetstreamx_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/jetstreamx"
)

// natsServer is a nats-server process a test started, with JetStream
// storing under its own directory.
type natsServer struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
}

// startServer starts a nats-server with JetStream on a free port of
// 127.0.0.1 and a temporary storage directory, stopped when the test ends.
// Without the binary the test skips (fails under CI=true).
func startServer(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/nats-server")
	}
	if err != nil {
		msg := "no nats-server binary in PATH or /usr/sbin: install nats-server (Debian's package) to run the server-restart tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &natsServer{bin: bin, dir: t.TempDir(), port: port}
	s.start(t)
	t.Cleanup(func() { s.kill(t) })
	return s
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// start runs the server and waits until it accepts connections.
func (s *natsServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-js", "-sd", s.dir)
	require.NoError(t, s.cmd.Start())
	require.Eventually(t, func() bool {
		nc, err := nats.Connect(s.url())
		if err != nil {
			return false
		}
		nc.Close()
		return true
	}, 30*time.Second, 20*time.Millisecond, "nats-server did not start")
}

// kill ends the server with SIGKILL: nothing is flushed or shut down.
func (s *natsServer) kill(t *testing.T) {
	t.Helper()
	if s.cmd != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// A retry outlives the server: a message failed once and waits for its
// retry when the server is killed (SIGKILL) and started again on the same
// storage; the consumer reconnects, the message comes back, and the
// policy continues from the progress kept in the bucket: the run is its
// attempt 2, at or after the instant the policy chose (the restarted
// server lost the delay and delivers the message early: the adapter sends
// it back for the rest of the wait), and it completes.
func TestRetryOutlivesAServerRestart(t *testing.T) {
	s := startServer(t)
	js := connectTo(t, s.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	f := newFixture(t, js)
	d := &decisions{}
	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: f.kv, Now: d.now}, retry.WithJitter(retry.NoJitter),
		retry.WithBackoff(retry.Constant(2*time.Second)), retry.WithObserver(d.observer()))
	require.NoError(t, err)
	cons := f.consumer(t, jetstream.ConsumerConfig{AckWait: time.Second})
	rec := &recorder{}
	h, err := r.Handler(context.Background(), cons, flaky(rec))
	require.NoError(t, err)
	consumeAll(t, cons, h)

	seq := f.publish(t, "1")
	key := jetstreamx.StateKey(f.name, cons.CachedInfo().Name, seq)
	require.Eventually(t, func() bool {
		_, err := f.kv.Get(context.Background(), key)
		return err == nil
	}, 30*time.Second, 5*time.Millisecond, "the failure's state was never stored")
	s.kill(t)
	s.start(t)

	runs := waitRuns(t, rec, seq, 2)
	require.Eventually(t, func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	}, 60*time.Second, 20*time.Millisecond)
	assert.Len(t, rec.of(seq), 2)
	chosen, _, _ := d.snapshot()
	require.Len(t, chosen, 1)
	assert.False(t, runs[1].Started.Before(chosen[0]), "attempt 2 ran %v before its instant", chosen[0].Sub(runs[1].Started))
	assert.LessOrEqual(t, runs[1].Started.Sub(chosen[0]), lateness)
	t.Logf("attempt 2: delivery %d, %v after the policy's instant", runs[1].Delivered, runs[1].Started.Sub(chosen[0]))
	assert.Equal(t, []int{1, 2}, d.started(), "the run after the restart is attempt 2")
}
