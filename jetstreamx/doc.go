// Package jetstreamx runs the retries of NATS JetStream messages
// (github.com/nats-io/nats.go/jetstream) with a [retry.Policy]: the same
// classification, limits, jitter, hints, budget and breaker as
// [retry.Do], decided after each delivery of a message and carried out by
// the server, so that a retry survives a deploy or a crash.
//
// A [Retrier] wraps a handler: each delivery is one attempt of the policy,
// and the policy's judgement becomes the acknowledgement the server
// understands:
//
//	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "retrykit", TTL: 24 * time.Hour})
//	r, err := jetstreamx.New(js, jetstreamx.Config{Progress: kv, DeadLetter: "dead.orders"},
//		retry.WithMaxAttempts(8), retry.WithBudget(budget))
//	h, err := r.Handler(ctx, cons, charge) // charge(ctx, msg) error
//	cc, err := cons.Consume(h)
//
// Handlers return errors marked as for Do ([retry.Permanent],
// [retry.After], a classifier's verdict); httpx and grpcx already turn a
// server's Retry-After or pushback into retry.After. They do not
// acknowledge the message themselves.
//
// # What each outcome does
//
//	outcome of a delivery                       the message              attempt spent
//	success                                     Ack                      yes
//	an error the policy retries                 NakWithDelay(the         yes
//	                                            policy's wait; a hint:
//	                                            the hint's)
//	Permanent, a classifier's Terminal,         dead-letter copy, then   yes
//	NotIdempotent, attempts or elapsed limit,   Term (TermWithReason on
//	a hint beyond the maximum delay             nats-server >= 2.10.4)
//	an error whose retry the budget refuses     NakWithDelay(the wait,   yes (it ran)
//	                                            at least Config.Defer);
//	                                            asks the budget again
//	                                            before it runs
//	the budget refuses again before the retry   NakWithDelay, not run    no
//	the breaker refuses the attempt             NakWithDelay, not run    no
//	the consumer is stopping (Handler's         NakWithDelay(Config.     no
//	context ended) and the handler fails        Defer)
//	delivered before the policy's instant       NakWithDelay(the rest    no
//	(a restarted server lost the delay)         of the wait), not run
//	the handler panics                          decided as a failure,    yes
//	                                            then the panic goes on
//	the worker process dies, or AckWait         delivered again by the   yes (counted
//	passes without a keep-alive                 server; its retry is     when next
//	                                            decided (limits, budget) delivered)
//	                                            before it runs
//
// The server counts every delivery (NumDelivered), deferrals too; the
// policy counts attempts: the deliveries minus those deferred, as the
// message's state records them. On the last delivery the consumer's
// MaxDeliver allows, nothing can be deferred (the server would never
// deliver the message again): what would be deferred ends the message
// with its reason instead (its dead-letter copy says "circuit_open",
// "budget"...).
//
// # Limits
//
// Three settings bound a message: the policy's attempt and elapsed limits,
// the consumer's MaxDeliver and its AckWait.
//
//   - MaxDeliver and the policy's attempt limit ([retry.WithMaxAttempts], 4
//     by default): the lower wins. A MaxDeliver below the policy's limit is
//     refused by [Retrier.Handler]: the server would drop a message before
//     the policy's last attempt, without a reason. With MaxDeliver at or
//     above it, a message's last delivery is decided by the policy with the
//     attempts made as the limit, so it ends with [retry.ErrExhausted] and a
//     dead-letter copy rather than silently. Deferrals and lost deliveries
//     count as deliveries, so leave room above the policy's limit, or set
//     MaxDeliver to -1 (no limit), the recommended setting: the policy then
//     decides alone. A policy without an attempt limit (WithMaxAttempts(0))
//     leaves MaxDeliver's.
//   - AckWait is how long the server waits for an acknowledgement before
//     it delivers the message again. From the start of a delivery until
//     its acknowledgement, the message is marked in progress every
//     Config.KeepAlive (a third of AckWait by default), so that neither a
//     long handler nor the adapter's own requests (the bucket, the dead
//     letter: each may take JetStream's default timeout, 5s) get it
//     delivered twice; a KeepAlive not shorter than AckWait is refused. A handler that hangs keeps its message: bound
//     it with a deadline of its own (an error wrapping
//     context.DeadlineExceeded from the handler's own deadline is retried as
//     [retry.TimedOut]). AckWait also bounds how long a message delivered
//     to a worker that died waits before another worker gets it.
//   - The consumer's BackOff list is refused: a second schedule, which the
//     server applies when no acknowledgement comes in time and which shifts
//     every delayed negative acknowledgement by BackOff[n] − BackOff[0]
//     (AckWait is then BackOff[0]). The policy decides every redelivery.
//   - An acknowledgement policy other than AckExplicit is refused: AckNone
//     never redelivers, AckAll acknowledges messages still waiting for
//     their retry.
//   - The elapsed limit ([retry.WithMaxElapsed]) is measured from the
//     message's first attempt, kept in its state ([retry.Progress].Start);
//     for a message whose earlier deliveries left no state, from when the
//     stream stored it. A deferral (the breaker or the budget refused)
//     that would end past it ends the message instead, with
//     [retry.ErrMaxElapsed] and the refusal as its last error, as Do ends a
//     call whose next wait would; for a message that never ran, the limit
//     counts from the breaker's first refusal (Do's, from its call's
//     start). [retry.WithAttemptTimeout] is Do's and is not
//     applied here.
//
// A message waiting for its retry is still pending on the server: it
// counts against the consumer's MaxAckPending (1,000 by default), and the
// stream's MaxAge applies to it.
//
// # The state kept with the message
//
// A message on the server cannot be changed between its deliveries, so no
// header can carry its progress. Its metadata tells only part of it: the
// delivery count (which counts deferrals and lost deliveries alike) and
// when the stream stored it. The rest, which decorrelated jitter and the
// elapsed limit need to choose the waits Do would choose, is kept in a
// key-value bucket ([Config].Progress) as a [State] under [StateKey]
// ("<stream>.<consumer>.<stream sequence>"): the [retry.Progress]
// (attempts, start, previous wait), the delivery expected next (a larger
// count means deliveries whose outcome was never reported: they count as
// attempts), the instant the next attempt is due, and why the message was
// deferred. A message that succeeds on its first delivery never touches
// the bucket; one that failed costs a write per failure, a read per
// redelivery and a delete when it ends. Give the bucket a TTL longer than
// a message's retries can last.
//
// A malformed state is reset from the metadata: every earlier delivery
// counts as an attempt, and the first began when the stream stored the
// message. The error goes to Config.OnError; the message runs and is not
// lost. A state the bucket does not return (it does not answer, or fails;
// not a missing key) may say the message ended, so the message does not
// run: it comes back after Config.Defer, nothing stored, and that delivery
// counts as an attempt whose outcome was never reported (limits come
// sooner, never later). On the last delivery MaxDeliver allows it cannot
// come back: it is ended without running (dead-letter copy with reason
// [ReasonStateUnreadable], then Term), since running it could repeat an
// effect the policy had refused to repeat; the copy keeps it for an
// operator.
//
// # Termination and dead letters
//
// A message the policy ends is terminated: with TermWithReason (the
// *retry.Error's text) on nats-server 2.10.4 and later, which puts the
// reason in the server's MSG_TERMINATED advisory; with Term on older
// servers, which ignore a termination that carries a reason (there,
// without a dead-letter copy, the reason would be nowhere: it goes to
// Config.OnError). The version is that of the server the worker is
// connected to; in a cluster the consumer's leader may be another server,
// and during a rolling upgrade an older one, which ignores the
// termination and delivers the message again, its state gone (it runs
// again): upgrade every server of the cluster to 2.10.4 or later before
// workers connect to an upgraded one. With
// Config.DeadLetter set, a copy (the body and the headers, without those
// that start with "Nats-") is first published to that subject, with the
// reason in [HeaderReason] (as [retry.ReasonOf] names it), the error in
// [HeaderError], the attempts in [HeaderAttempts], the deliveries in
// [HeaderDeliveries] and where it came from in [HeaderStream],
// [HeaderConsumer], [HeaderSequence] and [HeaderSubject]. A copy that
// cannot be published brings the message back after Config.Defer, to be
// published again without running the handler: the stop is stored in its
// state for that. When the stop cannot be stored either, the next
// delivery could not know the message ended, and would run it again: it
// is terminated without its copy, and both failures go to
// Config.OnError.
//
// # Timing
//
// The server delivers a message again about a millisecond after the delay
// of its negative acknowledgement ends, when the consumer's pull request
// is waiting (Consume keeps one); the tests measure a few milliseconds
// between the instant the policy chose and the handler's start. A delivery
// that comes sooner than the policy's instant is sent back for the rest of
// the wait: a nats-server restarted while a message waits delivers it
// again after AckWait, not after the delay. The instant was read on the
// clock of the worker that decided, and is compared with the clock of the
// one that receives the message: a delivery sooner by less than 50ms, or
// 1% of the wait, runs, so that clocks that disagree by that much cost no
// extra delivery. Keep the workers' clocks synchronised (NTP).
// Messages that Consume has fetched but not yet handled wait in the
// client; AckWait runs for them too.
//
// # Observing
//
// The policy's observer ([retry.WithObserver], otelretry, [retry.LogTo])
// sees each delivery that runs as an attempt: its start and end, the retry
// scheduled with its wait, the end with its reason, as for a call of Do. A
// deferral ends the call as Do would (reason budget or circuit_open); the
// message's later attempts continue its count.
//
// # Concurrency and lifecycle
//
// A Retrier is safe for concurrent use by any number of consumers and
// handlers. It starts no goroutine of its own: what runs is the
// consumer's, stopped by its Stop or Drain. A delivery whose message needs
// keeping alive has a timer whose function marks it in progress; it is
// stopped, and waited for, before the message is acknowledged.
package jetstreamx
