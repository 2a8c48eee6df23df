package jetstreamx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 1,000 messages over 4 worker processes while their dependency fails for
// 2 s, each process with its own retry budget (outageBudget): the
// retries that start during the outage stay within what the 4 budgets
// allow over it (capacity plus refill: no success deposits then); over
// the whole run, the retries equal the budgets' grants, each process's
// grants stay within its budget's bound, and every message completes
// exactly once, none lost to a refusal.
func TestOutageRetriesStayWithinTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("4 worker processes and 1,000 messages: not in -short")
	}
	const messages, procs = 1000, 4
	outage := 2 * time.Second
	url := serverURL(t)
	js := connectTo(t, url)
	f := newFixture(t, js)
	ctx := context.Background()
	effects, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: f.name + "-effects"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteKeyValue(context.Background(), f.name+"-effects") })
	cons := f.consumer(t, jetstream.ConsumerConfig{AckWait: 10 * time.Second, MaxAckPending: 10 * messages})
	for range messages {
		_, err := js.PublishAsync(f.name+".jobs", []byte("work"))
		require.NoError(t, err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publishing did not complete")
	}

	spawned := time.Now()
	until := spawned.Add(outage)
	var ps []*process
	for range procs {
		ps = append(ps, startWorker(t, url, "outage", f, cons.CachedInfo().Name, untilEnv+"="+until.Format(time.RFC3339Nano)))
	}
	require.Eventually(t, func() bool {
		st, err := effects.Status(ctx)
		return err == nil && st.Values() >= messages
	}, 5*time.Minute, 50*time.Millisecond, "not every message completed")
	waitSettled(t, cons)

	var allowed uint64
	var runs, retries, during int64
	for _, p := range ps {
		lines := p.stop(t)
		require.NotEmpty(t, lines)
		var st processStats
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &st))
		bound := outageBudget.Capacity + outageBudget.PerSecond*st.Seconds + outageBudget.PerSuccess*float64(st.Successes)
		assert.LessOrEqual(t, float64(st.Allowed), bound, "a process's grants within its budget")
		allowed += st.Allowed
		runs += st.Runs
		retries += st.Retries
		during += st.RetriesDuring
	}
	assert.EqualValues(t, runs-messages, retries, "every run after a message's first is a retry")
	assert.EqualValues(t, allowed, retries, "every retry that ran was granted by a budget")
	bound := procs * (outageBudget.Capacity + outageBudget.PerSecond*until.Sub(spawned).Seconds())
	assert.LessOrEqual(t, float64(during), bound, "retries during the outage within the budgets")
	st, err := effects.Status(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, messages, st.Values(), "each message's effect once")
	t.Logf("%d runs for %d messages; %d retries during the %v outage (bound %.0f); %d granted in all",
		runs, messages, during, outage, bound, allowed)
}
