package retry

import "time"

// The engine feeds the adaptive hedge delay (WithAdaptiveHedge) the
// latencies DoHedged feeds it (hedge_copy.go's settle), so that every
// driver of the engine (a queue, grpcx's hedged streams) teaches it as
// DoHedged does: the latency of every copy that succeeds (the first copy
// of a call that never hedged, a retry, a hedge, a loser), and that of a
// copy reported after another copy won, at the time it ran, when that is
// at least the delay (a lower bound of its latency: dropping the slow
// copies the hedges cut short would bias the delay down). A copy that
// fails is not fed, nor one reported after a copy ended the call with an
// error of its own. The latency is measured from the instant Begin or
// Hedge admitted the copy to the instant of its report, both the
// driver's; the copy's start is kept in its Progress (began, which the
// observer's AttemptEnd measures from too), so Progress keeps its size.

// markBegan records now as the start of the attempt pr has just begun,
// for the latency fed to the adaptive delay. now is not before pr.Start
// (Begin and Hedge rebase it first).
func (c *config) markBegan(pr *Progress, now time.Time) {
	if c.hedge.learner() != nil {
		pr.began = now.Sub(pr.Start)
	}
}

// learn feeds d the latency of the attempt pr holds, reported at now, if
// d is not nil. It is called before the report rebases pr.Start: a report
// earlier than the attempt's start (a clock stepped back) has a negative
// latency, which Observe ignores.
func learn(d *HedgeDelay, pr *Progress, now time.Time) {
	if d != nil {
		d.Observe(now.Sub(pr.Start) - pr.began)
	}
}

// learnBeaten feeds d the latency of a copy reported after another copy
// won, as DoHedged does: only when it ran for at least the current delay.
func learnBeaten(d *HedgeDelay, pr *Progress, now time.Time) {
	if d == nil {
		return
	}
	if lat := now.Sub(pr.Start) - pr.began; lat >= d.Delay() {
		d.Observe(lat)
	}
}
