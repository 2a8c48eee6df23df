// Package riverx runs the retries of River jobs (github.com/riverqueue/river,
// PostgreSQL) with a [retry.Policy]: the same classification, limits,
// jitter, hints, budget and breaker as [retry.Do], decided after each run
// of a job and carried out by River, so that a retry survives a deploy or
// a crash.
//
// A [Retrier] is a River worker middleware, which runs each job as one
// attempt of the policy and judges its error, and a River client retry
// policy, which gives River the instant the middleware chose:
//
//	r, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(8), retry.WithBudget(budget))
//	if err != nil { ... }
//	cfg := &river.Config{Queues: queues, Workers: workers}
//	if err := r.Install(cfg); err != nil { ... } // cfg.RetryPolicy and cfg.Middleware
//	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
//
// [Worker] gives one kind of job a Retrier of its own. Workers return
// errors as they always do, marked as for Do ([retry.Permanent],
// [retry.After], a classifier's verdict); httpx and grpcx already turn a
// server's Retry-After or pushback into retry.After.
//
// # What each outcome does
//
//	outcome of a run                              River                    attempt spent
//	success                                       completed                yes
//	an error the policy retries                   retried at the policy's  yes
//	                                              wait (a hint: at the
//	                                              hint), error recorded
//	Permanent, a classifier's Terminal,           cancelled at once, the   yes
//	NotIdempotent, attempts or elapsed limit,     *retry.Error (reason and
//	a hint beyond the maximum delay               last error) recorded
//	an error whose retry the budget refuses       retried after the wait   yes (it ran)
//	                                              or Config.Defer, the
//	                                              refusal recorded; asks
//	                                              the budget again first
//	the budget refuses again before the retry     snoozed, not run         no
//	the breaker refuses the run                   snoozed, not run         no
//	the worker returns river.JobSnooze            snoozed (the attempt     no
//	                                              counts as nothing)
//	the worker returns river.JobCancel            cancelled (a stop)       yes
//	the worker panics                             River records it; the    yes
//	                                              policy decides; a stop
//	                                              cancels the job when it
//	                                              is next delivered
//	the worker process dies                       River's rescuer retries  yes (counted
//	                                              it at the policy's wait; when next run)
//	                                              the retry is decided
//	                                              (limits, budget) before
//	                                              it runs
//
// A deferred job comes back after the wait the policy would choose for its
// next retry, or at least [Config].Defer (1s by default), and asks again.
// A snooze does not spend one of River's attempts (River counts snoozes in
// the job's metadata, under "snoozes").
//
// # Limits
//
// Both limits bound a job, and the lower one wins: the policy's attempt
// limit ([retry.WithMaxAttempts], 4 by default) and River's max_attempts
// (25 by default, set per client, per kind or per job). A job on its last
// run River allows is decided by the policy with River's limit, so it is
// cancelled with the reason [retry.ErrExhausted] rather than discarded by
// River without one: a job the Retrier decides is never discarded. With
// the defaults a job runs at most 4 times, as a call of Do would; a policy
// without an attempt limit (WithMaxAttempts(0)) leaves River's.
// Deferrals do not count against River's max_attempts; the policy counts
// every run that happened, a lost one too, and never one that did not.
//
// The elapsed limit ([retry.WithMaxElapsed]) is measured from the job's
// first run, kept with the job. River's JobTimeout is the attempt timeout:
// a run whose context deadline passed while the job's own context lives is
// reported as [retry.TimedOut] (retried at the budget's TimeoutCost);
// [retry.WithAttemptTimeout] is Do's and is not applied here.
//
// # The state kept with the job
//
// Between runs the job's metadata holds its [State] under the key
// "retrykit": the [retry.Progress] (attempts, start, previous wait) that
// decorrelated jitter and the elapsed limit need, so that the waits are
// those Do would choose, and River's attempt number expected at the next
// run, by which a run whose worker died is recognised. Malformed state
// fails that delivery with an error saying so (in the job's errors) and is
// reset from River's attempt count; on the last run River allows, the job
// is snoozed instead, the error kept in the state: the job is not lost.
//
// # Timing
//
// River makes a job whose retry is due within its scheduler's interval
// (5s) available at once, with its scheduled_at at the policy's instant,
// and a client fetches it at its first poll after that instant
// (Config.FetchPollInterval, 1s by default): a retry runs at the policy's
// instant to within the poll interval. Longer waits wait, in addition,
// for River's scheduler, every 5s. The tests poll every 50ms.
//
// # Observing
//
// The policy's observer ([retry.WithObserver], otelretry, [retry.LogTo])
// sees each run as an attempt: its start and end, the retry scheduled with
// its wait, the end with its reason, as for a call of Do. A deferral ends
// the call as Do would (reason budget or circuit_open); the job's later
// runs continue its attempt count.
//
// # Concurrency and lifecycle
//
// A Retrier is safe for concurrent use. It starts no goroutine and holds
// no resource: what runs is River's, stopped by the client's Stop. Between
// a failed run and River's call of NextRetry, which follows at once on the
// same goroutine, the chosen instant waits in a small map.
package riverx
