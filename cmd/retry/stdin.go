package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// What -stdin accepts: which attempts get retry's standard input.
const (
	stdinEvery = "every" // given to the first attempt as it comes, replayed whole to the others
	stdinFirst = "first" // given as is to the first attempt only
	stdinNone  = "none"  // given to no attempt
)

var stdinModes = []string{stdinEvery, stdinFirst, stdinNone}

// stdinMemoryLimit is how much of a piped standard input -stdin every keeps
// in memory to replay it; the rest of a longer input goes with it to a
// temporary file.
const stdinMemoryLimit = 1 << 20 // 1 MiB

// defaultStdinLimit is the default of -stdin-limit: the most of a piped
// standard input -stdin every keeps to replay it. An input that never ends
// (yes, tail -f) is read up to it before a retry gives up: small enough to
// take a moment and no room on a /tmp held in memory, large enough for the
// inputs a retried command is usually given.
const defaultStdinLimit = 64 << 20 // 64 MiB

// errStdinLimit is the failure of a retry whose piped input was longer than
// -stdin-limit: it cannot be replayed.
var errStdinLimit = errors.New("standard input is longer than -stdin-limit")

// input gives each attempt its standard input. An attempt that gets none
// reads an empty input (/dev/null).
//
// A terminal (a character device, which includes /dev/null) is live input
// that no attempt uses up: with every, each attempt gets it as is. A
// redirected regular file is given to every attempt itself, seeked back to
// where it started. Any other input (a pipe) is, with every, teed: the
// first attempt reads it as it arrives, through a pipe of retry's, while a
// copy goes to memory and beyond that to a temporary file; once that
// attempt has ended the rest of the input is read into the copy too, and a
// later attempt, which waits for the end of the input, reads the copy. The copy stops at the limit: a retry after that fails with
// errStdinLimit. The temporary file is unlinked as soon as it is created
// where the system allows it (so nothing is left behind even if retry is
// killed), and otherwise by Close.
//
// The methods are for one goroutine: the retry loop. The tee's goroutine
// shares only the copy, which has its own lock.
type input struct {
	mode  string
	live  io.Reader // passed as is: a terminal, or the input for -stdin first
	file  *os.File  // -stdin every: a regular file, given itself to every attempt
	start int64     // where file was when retry started
	src   io.Reader // -stdin every: a pipe, teed into cp
	cp    *stdinCopy
	feed  *feed // the pipe feeding the running attempt, if any
	tee   *feed // the first attempt's tee, once started
	n     int   // attempts served
}

// newInput prepares standard input for the attempts, as mode says; with
// every, memLimit bounds the copy kept in memory and limit the whole copy
// (0: no limit).
func newInput(stdin io.Reader, mode string, memLimit, limit int64) *input {
	in := &input{mode: mode}
	if f, ok := stdin.(*os.File); ok && f == nil {
		stdin = nil
	}
	switch {
	case stdin == nil || mode == stdinNone:
	case mode == stdinFirst || isTerminal(stdin):
		in.live = stdin
	default:
		if f, start, ok := regularFile(stdin); ok {
			in.file, in.start = f, start
			break
		}
		in.src = stdin
		in.cp = &stdinCopy{memLimit: memLimit, limit: limit}
	}
	return in
}

// stdinMode is the -stdin mode in effect: with -attempts 1 nothing is ever
// replayed, so every is first and no copy is kept.
func (c *config) stdinMode() string {
	if c.attempts == 1 && c.stdin == stdinEvery {
		return stdinFirst
	}
	return c.stdin
}

// isTerminal reports whether r is a character device: a terminal, or
// /dev/null.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// regularFile returns r as a regular file that can be seeked back to its
// current offset.
func regularFile(r io.Reader) (*os.File, int64, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return nil, 0, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, 0, false
	}
	start, err := f.Seek(0, io.SeekCurrent)
	return f, start, err == nil
}

// next returns the standard input of the next attempt (nil means an empty
// input); done must be called once the attempt has ended, or failed to
// start. An error means the input cannot be replayed (see errStdinLimit),
// or ctx ended while the attempt waited for the end of the input: then it
// is ctx's cause.
func (in *input) next(ctx context.Context) (io.Reader, error) {
	in.done()
	in.n++
	switch {
	case in.live != nil:
		if in.mode == stdinEvery || in.n == 1 {
			return in.live, nil
		}
		return nil, nil
	case in.file != nil:
		if _, err := in.file.Seek(in.start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewinding standard input: %w", err)
		}
		return in.file, nil
	case in.src == nil:
		return nil, nil
	case in.n == 1:
		f, err := startFeed(in.src, in.cp)
		in.tee, in.feed = f, f
		if err != nil {
			return nil, err
		}
		return f.r, nil
	}
	r, err := in.replay(ctx)
	if err != nil {
		return nil, err
	}
	if s, ok := r.(*os.File); ok {
		return s, nil
	}
	f, err := startFeed(r, nil)
	in.feed = f
	if err != nil {
		return nil, err
	}
	return f.r, nil
}

// replay returns the whole input, once the tee has copied all of it: the
// temporary file, seeked to its start, or a reader of the copy in memory.
func (in *input) replay(ctx context.Context) (io.Reader, error) {
	if in.tee != nil {
		select {
		case <-in.tee.done:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		in.cp.finish(in.tee.srcErr)
		in.tee = nil
	}
	return in.cp.reader()
}

// done ends the attempt's feed, if it has one: the pipe is closed, so that
// neither retry nor anything the command left running waits on it.
func (in *input) done() {
	if in.feed != nil {
		in.feed.stop()
		in.feed = nil
	}
}

// Close releases the pipe and the temporary file, if there are any. It
// does not wait for a read of the input in progress. It is safe to call
// more than once.
func (in *input) Close() error {
	in.done()
	if in.cp == nil {
		return nil
	}
	return in.cp.Close()
}
