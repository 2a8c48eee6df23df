package jetstreamx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// consumerLimits is what a handler needs of its consumer's configuration,
// checked against the policy by check.
type consumerLimits struct {
	maxDeliver int           // the deliveries the server allows a message, 0 for no limit
	keepAlive  time.Duration // how often a running handler marks its message in progress
}

// check returns the limits of the consumer described by info for r's
// policy, or an error wrapping [retry.ErrInvalidConfig] saying how the two
// contradict each other:
//
//   - an acknowledgement policy other than explicit: AckNone never
//     redelivers, and under AckAll the acknowledgement of a later message
//     also acknowledges an earlier one still waiting for its retry;
//   - a BackOff list: a second schedule, which the server applies when no
//     acknowledgement comes in time and which shifts every delayed
//     negative acknowledgement by BackOff[n] − BackOff[0] (AckWait is
//     BackOff[0]); the policy decides every redelivery;
//   - a MaxDeliver below the policy's attempt limit: the server would stop
//     delivering the message before the policy's last attempt, without a
//     reason;
//   - a keep-alive interval (Config.KeepAlive) not shorter than AckWait:
//     the server would deliver a running message again.
func (r *Retrier) check(info *jetstream.ConsumerInfo) (consumerLimits, error) {
	cfg := info.Config
	name := fmt.Sprintf("consumer %q of stream %q", info.Name, info.Stream)
	var lim consumerLimits
	switch {
	case cfg.AckPolicy != jetstream.AckExplicitPolicy:
		return lim, invalid(fmt.Sprintf("%s acknowledges with %s; the policy needs AckExplicit (AckNone never redelivers, "+
			"and AckAll would acknowledge messages still waiting for their retry)", name, cfg.AckPolicy))
	case len(cfg.BackOff) > 0:
		return lim, invalid(fmt.Sprintf("%s has a BackOff list %v: a second retry schedule, which shifts each delayed "+
			"redelivery the policy asks for by BackOff[n] - BackOff[0]; remove it and set AckWait", name, cfg.BackOff))
	case cfg.MaxDeliver > 0 && r.limit > 0 && cfg.MaxDeliver < r.limit:
		return lim, invalid(fmt.Sprintf("%s allows %d deliveries, fewer than the policy's %d attempts: the server would drop "+
			"a message before the policy's last attempt, without a reason; set MaxDeliver to -1 (deferrals and lost "+
			"deliveries count as deliveries) or to %d or more", name, cfg.MaxDeliver, r.limit, r.limit))
	case cfg.AckWait <= 0:
		return lim, invalid(fmt.Sprintf("%s reports no AckWait (%v)", name, cfg.AckWait))
	}
	lim.maxDeliver = max(cfg.MaxDeliver, 0)
	lim.keepAlive = r.keepAlive
	if lim.keepAlive == 0 {
		lim.keepAlive = cfg.AckWait / 3
	}
	if lim.keepAlive >= cfg.AckWait || lim.keepAlive <= 0 {
		return lim, invalid(fmt.Sprintf("Config.KeepAlive %v is not shorter than the AckWait %v of %s: the server would "+
			"deliver a running message again", lim.keepAlive, cfg.AckWait, name))
	}
	return lim, nil
}

// checkDeadLetter checks that a stream captures r's dead-letter subject
// and that the consumer described by info does not read it (each dead
// letter would come back to the handler).
func (r *Retrier) checkDeadLetter(ctx context.Context, info *jetstream.ConsumerInfo) error {
	if r.deadLetter == "" {
		return nil
	}
	stream, err := r.js.StreamNameBySubject(ctx, r.deadLetter)
	if err != nil {
		return fmt.Errorf("jetstreamx: no stream captures the dead-letter subject %q, so its copies would be lost: %w", r.deadLetter, err)
	}
	if stream != info.Stream {
		return nil
	}
	filters := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		filters = append(filters, info.Config.FilterSubject)
	}
	read := len(filters) == 0
	for _, f := range filters {
		read = read || matches(f, r.deadLetter)
	}
	if read {
		return invalid(fmt.Sprintf("consumer %q reads the dead-letter subject %q from stream %q: each dead letter would come back to the handler",
			info.Name, r.deadLetter, stream))
	}
	return nil
}

// matches reports whether the subject filter (with * and > wildcards)
// matches subj.
func matches(filter, subj string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subj, ".")
	for i, f := range ft {
		switch {
		case f == ">":
			return len(st) > i
		case i >= len(st):
			return false
		case f != "*" && f != st[i]:
			return false
		}
	}
	return len(ft) == len(st)
}
