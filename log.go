package retry

import (
	"context"
	"log/slog"
	"reflect"
)

// LogTo returns an [Observer] that logs through l (nil means
// [slog.Default] at the time of each record):
//
//   - each retry at Debug, "retrying", with attempt (the attempt that
//     failed), max_attempts, wait, retry_after (only when the wait came
//     from a server hint) and error;
//   - a call that gives up at Warn, "giving up", with attempt (the
//     attempts made), max_attempts, reason ([ReasonOf]), retry_after (the
//     refused hint, when there was one), hedges (when there were any)
//     and error (the last attempt's);
//   - a call that succeeds after retries or hedges at Debug, "succeeded",
//     with attempt and max_attempts, and hedges (the hedges it sent,
//     [WithHedge]) when there were any; a first-try success logs nothing;
//   - a change of the breaker's state at Info, "circuit breaker", with
//     from and to;
//   - a shared budget or breaker that stops sharing at Error, "not
//     sharing", with kind, name and error, and one that shares again at
//     Info, "sharing again", with kind and name ([SharingInfo]).
//
// Attach it with WithObserver(LogTo(logger)). Durations are
// [time.Duration] values, which slog's text handler prints as 87ms and its
// JSON handler as integer nanoseconds (87000000); states are words in
// every handler. A record at a level l does not log costs one Enabled
// call and no allocation: a call does not even deliver the event, and
// reads no clock for LogTo, whose records hold no durations. The level
// is asked at each event, so a level that changes (a [slog.LevelVar])
// applies from the next event on. This holds while the Observer's hooks
// are those LogTo set; one whose hooks were replaced or added to (a hook
// of your own that calls LogTo's) gets every event, as any Observer. The
// Observer is safe for concurrent use.
func LogTo(l *slog.Logger) *Observer {
	lg := &logTo{l}
	return &Observer{
		RetryScheduled: lg.retry,
		Done:           lg.done,
		BreakerChange:  lg.breaker,
		Sharing:        lg.sharing,
		log:            lg,
	}
}

type logTo struct{ l *slog.Logger }

// levelled returns the logger of an Observer made by LogTo whose call
// events are still LogTo's own (each hook LogTo set, or nil, and no
// other): its events at a level the logger does not log can be left
// undelivered, and it needs no clock. It returns nil for any other
// Observer. A hook is recognised by its code (reflect's Pointer of a
// func), once per configuration, not per call.
func (o *Observer) levelled() *logTo {
	if o == nil || o.log == nil || o.AttemptStart != nil || o.AttemptEnd != nil || o.BudgetRefused != nil {
		return nil
	}
	if !sameCode(o.RetryScheduled, o.log.retry) || !sameCode(o.Done, o.log.done) || !sameCode(o.BreakerChange, o.log.breaker) {
		return nil
	}
	return o.log
}

// sameCode reports whether hook is nil or runs the code of own.
func sameCode[F any](hook, own F) bool {
	h := reflect.ValueOf(hook)
	return h.IsNil() || h.Pointer() == reflect.ValueOf(own).Pointer()
}

// on reports whether an event at level is delivered: always, unless the
// observer is LogTo's (lg non-nil) and its logger does not log level.
func (lg *logTo) on(ctx context.Context, level slog.Level) bool {
	return lg == nil || lg.logger().Enabled(ctx, level)
}

func (lg *logTo) logger() *slog.Logger {
	if lg.l == nil {
		return slog.Default()
	}
	return lg.l
}

func (lg *logTo) retry(ctx context.Context, e RetryInfo) {
	l := lg.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := [5]slog.Attr{
		slog.Int("attempt", e.Attempt),
		slog.Int("max_attempts", e.MaxAttempts),
		slog.Duration("wait", e.Wait),
	}
	n := 3
	if e.Hint > 0 {
		attrs[n] = slog.Duration("retry_after", e.Hint)
		n++
	}
	attrs[n] = slog.Any("error", e.Err)
	l.LogAttrs(ctx, slog.LevelDebug, "retrying", attrs[:n+1]...)
}

func (lg *logTo) done(ctx context.Context, e DoneInfo) {
	l := lg.logger()
	if e.Err == nil {
		if e.Attempts > 1 && l.Enabled(ctx, slog.LevelDebug) {
			attrs := [3]slog.Attr{slog.Int("attempt", e.Attempts), slog.Int("max_attempts", e.MaxAttempts)}
			n := 2
			if e.Hedges > 0 {
				attrs[n] = slog.Int("hedges", e.Hedges)
				n++
			}
			l.LogAttrs(ctx, slog.LevelDebug, "succeeded", attrs[:n]...)
		}
		return
	}
	if !l.Enabled(ctx, slog.LevelWarn) {
		return
	}
	attrs := [6]slog.Attr{
		slog.Int("attempt", e.Attempts),
		slog.Int("max_attempts", e.MaxAttempts),
		slog.String("reason", ReasonOf(e.Err)),
	}
	n := 3
	if e.Hedges > 0 {
		attrs[n] = slog.Int("hedges", e.Hedges)
		n++
	}
	last := e.Err
	if re, ok := e.Err.(*Error); ok {
		last = re.Last
		if re.Hint > 0 {
			attrs[n] = slog.Duration("retry_after", re.Hint)
			n++
		}
	}
	if last != nil {
		attrs[n] = slog.Any("error", last)
		n++
	}
	l.LogAttrs(ctx, slog.LevelWarn, "giving up", attrs[:n]...)
}

func (lg *logTo) breaker(ctx context.Context, e BreakerChangeInfo) {
	l := lg.logger()
	if !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	l.LogAttrs(ctx, slog.LevelInfo, "circuit breaker", slog.Any("from", e.From), slog.Any("to", e.To))
}
