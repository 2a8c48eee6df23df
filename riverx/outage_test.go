package riverx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 1,000 jobs over 4 worker processes while their dependency fails for
// 2 s, each process with its own retry budget (outageBudget): the
// retries that start during the outage stay within what the 4 budgets
// allow over it (capacity plus refill: no success deposits then); over
// the whole run, the retries equal the budgets' grants, each process's
// grants stay within its budget's bound, and every job completes exactly
// once, none lost to a refusal.
func TestOutageRetriesStayWithinTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("4 worker processes and 1,000 jobs: not in -short")
	}
	const jobs, procs = 1000, 4
	outage := 2 * time.Second
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	ctx := context.Background()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quietLogger()})
	require.NoError(t, err)
	params := make([]river.InsertManyParams, jobs)
	for i := range params {
		params[i] = river.InsertManyParams{Args: outageArgs{}}
	}
	_, err = client.InsertManyFast(ctx, params)
	require.NoError(t, err)

	spawned := time.Now()
	until := spawned.Add(outage)
	var ps []*process
	for i := range procs {
		lead := "0"
		if i == 0 {
			lead = "1" // one leader: River's scheduler makes the retries due
		}
		ps = append(ps, startWorker(t, "outage", dsn, untilEnv+"="+until.Format(time.RFC3339Nano), leadEnv+"="+lead))
	}
	require.Eventually(t, func() bool { return count(t, pool, `SELECT count(*) FROM river_job WHERE state = 'completed'`) == jobs },
		5*time.Minute, 50*time.Millisecond, "not every job completed")

	var allowed uint64
	for _, p := range ps {
		lines := p.stop(t)
		require.NotEmpty(t, lines)
		var st processStats
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &st))
		bound := outageBudget.Capacity + outageBudget.PerSecond*st.Seconds + outageBudget.PerSuccess*float64(st.Successes)
		assert.LessOrEqual(t, float64(st.Allowed), bound, "a process's grants within its budget")
		allowed += st.Allowed
	}
	runs := count(t, pool, `SELECT count(*) FROM runs`)
	assert.Equal(t, int(allowed), runs-jobs, "every retry that ran was granted by a budget")
	// Retries that started during the outage: runs after a job's first.
	during := count(t, pool, `SELECT count(*) FROM (SELECT started, row_number() OVER (PARTITION BY job_id ORDER BY started) AS n FROM runs) r
		WHERE n > 1 AND started < $1`, until)
	bound := procs * (outageBudget.Capacity + outageBudget.PerSecond*until.Sub(spawned).Seconds())
	assert.LessOrEqual(t, float64(during), bound, "retries during the outage within the budgets")
	assert.Equal(t, jobs, count(t, pool, `SELECT count(*) FROM effects`), "each job's effect once")
	t.Logf("%d runs for %d jobs; %d retries during the %v outage (bound %.0f); %d granted in all",
		runs, jobs, during, outage, bound, allowed)
}
