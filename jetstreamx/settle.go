package jetstreamx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/retrykit/retry"
)

// succeeded reports the attempt admitted with apr as a success,
// acknowledges the message and forgets its state.
func (d *delivery) succeeded(actx context.Context, apr retry.Progress) {
	if err := d.r.policy.Succeeded(actx, apr, d.r.now()); err != nil {
		d.r.report(d.msg, fmt.Errorf("jetstreamx: the message succeeded, but its report to the retry policy failed: %w", err))
	}
	d.release()
	if err := d.msg.Ack(); err != nil {
		d.r.report(d.msg, fmt.Errorf("jetstreamx: acknowledging the message: %w", err))
		return
	}
	d.r.report(d.msg, d.r.forget(d))
}

// deferTo stores st for the next delivery and asks the server to deliver
// the message again after wait (a retry when why is nil, otherwise a
// deferral for that reason). On the last delivery MaxDeliver allows a
// deferral cannot come back: the message ends with why instead.
func (d *delivery) deferTo(st State, wait time.Duration, why error) {
	if why != nil && d.last {
		d.end(why, st.Progress)
		return
	}
	st.Next, st.Published, st.Due, st.Wait = d.meta.NumDelivered+1, d.meta.Timestamp, d.now.Add(wait), wait
	d.r.report(d.msg, d.r.save(d, st))
	d.nak(wait)
}

// nak asks the server to deliver the message again after wait.
func (d *delivery) nak(wait time.Duration) {
	d.release()
	if err := d.msg.NakWithDelay(wait); err != nil {
		d.r.report(d.msg, fmt.Errorf("jetstreamx: negative acknowledgement (delay %v): %w; the server delivers the message again after AckWait", wait, err))
	}
}

// end ends the message for reason after pr's attempts: its dead-letter
// copy is published, if configured, then it is terminated and its state
// forgotten. A copy that cannot be published is tried again at the next
// delivery (without running the handler), unless this is the last one.
func (d *delivery) end(reason error, pr retry.Progress) {
	attempts := pr.Attempts
	var e *retry.Error
	if errors.As(reason, &e) {
		attempts = e.Attempts
	}
	later := State{Progress: pr, Stopped: reason.Error(), Reason: reasonWord(reason)}
	later.Next, later.Published = d.meta.NumDelivered+1, d.meta.Timestamp
	copied := false
	if d.r.deadLetter != "" {
		err := d.deadLetter(reason, attempts)
		copied = err == nil
		if err != nil {
			d.r.report(d.msg, d.publishLater(later, err))
			if !d.last {
				d.nak(d.r.minDefer)
				return
			}
		}
	}
	d.release()
	withReason, err := d.term(reason)
	if err != nil {
		d.r.report(d.msg, fmt.Errorf("jetstreamx: terminating the message: %w; it is terminated when it comes back", err))
		d.r.report(d.msg, d.r.save(d, later))
		return
	}
	if !withReason && !copied { // the reason would be nowhere else
		d.r.report(d.msg, fmt.Errorf("jetstreamx: terminated (the server, older than 2.10.4, keeps no reason; no dead-letter copy): %w", reason))
	}
	d.r.report(d.msg, d.r.forget(d))
}

// publishLater answers a dead-letter copy that could not be published
// (err): on a delivery that is not the last MaxDeliver allows, it stores
// later, the stop, so that the next delivery publishes the copy and
// terminates the message without running the handler, and d.last stays
// false. When the stop cannot be stored, the next delivery could not know
// the message ended and would run it again: the message is terminated
// without its copy (d.last is set). It returns what to report.
func (d *delivery) publishLater(later State, err error) error {
	if d.last {
		return fmt.Errorf("%w; terminated without it (the last delivery MaxDeliver allows)", err)
	}
	if serr := d.r.save(d, later); serr != nil {
		d.last = true
		return fmt.Errorf("%w; terminated without it, since the stop could not be stored for the next delivery to publish it: %w", err, serr)
	}
	return fmt.Errorf("%w; the message comes back after %v to publish it", err, d.r.minDefer)
}

// unread answers a delivery whose state the bucket did not return (u):
// the state may say the message ended, so it must not run. It comes back
// after Config.Defer, nothing stored (a write could overwrite the stop).
// On the last delivery MaxDeliver allows it cannot come back: it is ended
// without running, its dead-letter copy saying "state_unreadable".
func (d *delivery) unread(u unreadable) {
	if !d.last {
		d.r.report(d.msg, fmt.Errorf("%w; the message is not run, and comes back after %v", u, d.r.minDefer))
		d.nak(d.r.minDefer)
		return
	}
	d.r.report(d.msg, fmt.Errorf("%w; terminated without running (the last delivery MaxDeliver allows), since the state may say it ended", u))
	why := stopped{msg: "jetstreamx: not run: the retry state could not be read on the last delivery MaxDeliver allows: " + u.Error(), reason: ReasonStateUnreadable}
	d.end(why, retry.Progress{Attempts: int(min(d.meta.NumDelivered-1, math.MaxInt32))})
}

// ReasonStateUnreadable is the [HeaderReason] of a message ended without
// running because its state could not be read on the last delivery the
// consumer's MaxDeliver allows.
const ReasonStateUnreadable = "state_unreadable"

// term terminates the message, with the reason where the server reads one
// (TermWithReason, nats-server 2.10.4 and later; an older server ignores a
// termination with a reason, and the message would come back), and says
// whether the reason went with it.
func (d *delivery) term(reason error) (withReason bool, err error) {
	if nc := d.r.conn(); nc != nil && atLeast(nc.ConnectedServerVersion(), 2, 10, 4) {
		return true, d.msg.TermWithReason(clip(reason.Error()))
	}
	return false, d.msg.Term()
}

// The headers of a dead-letter copy, besides the original message's own
// (those that start with "Nats-", which the server would act on, are left
// out).
const (
	// HeaderReason holds the reason the policy ended the message, as
	// [retry.ReasonOf] names it: "permanent", "exhausted", "max_elapsed",
	// "not_idempotent", "hint_too_long", "budget", "circuit_open"...,
	// or [ReasonStateUnreadable].
	HeaderReason = "Retrykit-Reason"
	// HeaderError holds the error the message ended with, on one line:
	// the *retry.Error's text, with the handler's last error.
	HeaderError = "Retrykit-Error"
	// HeaderAttempts holds the number of attempts the policy counted.
	HeaderAttempts = "Retrykit-Attempts"
	// HeaderDeliveries holds the server's delivery count (NumDelivered).
	HeaderDeliveries = "Retrykit-Deliveries"
	// HeaderStream, HeaderConsumer, HeaderSequence and HeaderSubject say
	// where the message came from: its stream, the consumer that ended
	// it, its stream sequence and its subject.
	HeaderStream   = "Retrykit-Stream"
	HeaderConsumer = "Retrykit-Consumer"
	HeaderSequence = "Retrykit-Sequence"
	HeaderSubject  = "Retrykit-Subject"
)

// deadLetter publishes the message's dead-letter copy and waits for the
// stream's acknowledgement. Its message ID ("retrykit.<state key>") lets
// the stream drop a second copy of the same message within its duplicate
// window.
func (d *delivery) deadLetter(reason error, attempts int) error {
	m := nats.NewMsg(d.r.deadLetter)
	m.Data = d.msg.Data()
	for k, v := range d.msg.Headers() {
		if !strings.HasPrefix(k, "Nats-") {
			m.Header[k] = append([]string(nil), v...)
		}
	}
	m.Header.Set(HeaderReason, reasonWord(reason))
	m.Header.Set(HeaderError, clip(reason.Error()))
	m.Header.Set(HeaderAttempts, strconv.Itoa(attempts))
	m.Header.Set(HeaderDeliveries, strconv.FormatUint(d.meta.NumDelivered, 10))
	m.Header.Set(HeaderStream, d.meta.Stream)
	m.Header.Set(HeaderConsumer, d.meta.Consumer)
	m.Header.Set(HeaderSequence, strconv.FormatUint(d.meta.Sequence.Stream, 10))
	m.Header.Set(HeaderSubject, d.msg.Subject())
	m.Header.Set(nats.MsgIdHdr, "retrykit."+d.key())
	if _, err := d.r.js.PublishMsg(d.settle(), m); err != nil {
		return fmt.Errorf("jetstreamx: publishing the dead-letter copy to %q: %w", d.r.deadLetter, err)
	}
	return nil
}

// stopped is the error a message ended with, read back from its State.
type stopped struct{ msg, reason string }

func (s stopped) Error() string { return s.msg }

// reasonWord names the reason of err in one word.
func reasonWord(err error) string {
	var s stopped
	if errors.As(err, &s) && s.reason != "" {
		return s.reason
	}
	return retry.ReasonOf(err)
}

// maxReason is the longest reason or header value the adapter sends, in
// bytes.
const maxReason = 1024

// clip returns s on one line, cut to maxReason bytes at a rune boundary.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// atLeast reports whether the server version v ("2.10.4", "2.11.0-RC.1")
// is at least major.minor.patch.
func atLeast(v string, major, minor, patch int) bool {
	v, _, _ = strings.Cut(v, "-")
	parts := strings.SplitN(v, ".", 3)
	want := [3]int{major, minor, patch}
	for i := range want {
		if i >= len(parts) {
			return false
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return false
		}
		if n != want[i] {
			return n > want[i]
		}
	}
	return true
}
