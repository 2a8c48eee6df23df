package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
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
// standard input -stdin every keeps to replay it.
const defaultStdinLimit = 1 << 30 // 1 GiB

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

// feed writes a reader into a pipe whose read end an attempt gets as its
// standard input: a file, which the command inherits, so that exec.Cmd
// copies nothing and its Wait never waits on standard input.
type feed struct {
	r, w *os.File
	done chan struct{} // closed when the goroutine has returned
	// Set by the goroutine before done is closed:
	srcErr error // the reader failed
}

// startFeed starts copying src into a new pipe, and each piece read into
// rec too, if it is not nil, before it is written to the pipe. Writing to
// the pipe ends at the end of src, or when stop closes the pipe or the
// command closed its end; the rest of src then still goes to rec, up to its
// end or rec's first error.
func startFeed(src io.Reader, rec io.Writer) (*feed, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating a pipe for the command's standard input: %w", err)
	}
	f := &feed{r: r, w: w, done: make(chan struct{})}
	go f.copy(src, rec)
	return f, nil
}

func (f *feed) copy(src io.Reader, rec io.Writer) {
	defer close(f.done)
	defer f.w.Close()
	buf := make([]byte, 32<<10)
	writing := true
	for {
		n, err := src.Read(buf)
		if n > 0 {
			var cerr error
			if rec != nil {
				_, cerr = rec.Write(buf[:n]) // a failed copy fails the next attempt, not this one
			}
			if writing {
				_, werr := f.w.Write(buf[:n])
				writing = werr == nil // else the attempt has ended, or the command closed its input
			}
			if !writing && (rec == nil || cerr != nil) {
				return // nothing more to do with the input
			}
		}
		switch {
		case err == io.EOF:
			return
		case err != nil:
			f.srcErr = err
			return
		}
	}
}

// stop closes both ends of the pipe, which ends a write in progress.
func (f *feed) stop() {
	_ = f.w.Close()
	_ = f.r.Close()
}

// stdinCopy is the copy of a piped input that -stdin every replays:
// in memory up to memLimit bytes, then all of it in a temporary file, up to
// limit bytes (0: no limit). Its methods are safe for concurrent use: the
// tee's goroutine writes while the retry loop may close it.
type stdinCopy struct {
	memLimit, limit int64

	mu     sync.Mutex
	mem    []byte
	spool  *os.File // written
	reread *os.File // the same file opened for reading, given to the attempts
	path   string   // the spool's name, while it still has one
	size   int64
	err    error // the copy failed, or went past limit
	closed bool
}

// Write adds p to the copy. Past the limit, or once the copy failed, it
// drops the copy and returns the error.
func (c *stdinCopy) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return 0, os.ErrClosed
	case c.err != nil:
		return 0, c.err
	case c.limit > 0 && c.size+int64(len(p)) > c.limit:
		c.fail(errStdinLimit)
		return 0, c.err
	}
	if c.spool == nil && c.size+int64(len(p)) <= c.memLimit {
		c.mem = append(c.mem, p...)
		c.size += int64(len(p))
		return len(p), nil
	}
	if c.spool == nil {
		if err := c.createSpool(); err != nil {
			c.fail(err)
			return 0, err
		}
	}
	if _, err := c.spool.Write(p); err != nil {
		c.fail(err)
		return 0, err
	}
	c.size += int64(len(p))
	return len(p), nil
}

// createSpool moves the copy from memory to a temporary file.
func (c *stdinCopy) createSpool() error {
	f, err := os.CreateTemp("", "retry-stdin-*")
	if err != nil {
		return err
	}
	c.spool, c.path = f, f.Name()
	if c.reread, err = os.Open(c.path); err != nil {
		return err
	}
	if os.Remove(c.path) == nil {
		c.path = "" // unlinked: the open files live on until Close
	}
	if _, err := f.Write(c.mem); err != nil {
		return err
	}
	c.mem = nil
	return nil
}

// fail records err and releases what the copy held: it will not be
// replayed.
func (c *stdinCopy) fail(err error) {
	c.err = err
	c.mem = nil
	_ = c.release()
}

// finish records how reading the input ended: srcErr is nil at its end.
func (c *stdinCopy) finish(srcErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && srcErr != nil {
		c.fail(fmt.Errorf("reading standard input: %w", srcErr))
	}
}

// reader returns the whole copy: the temporary file, seeked to its start,
// or a reader of the memory.
func (c *stdinCopy) reader() (io.Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil:
		return nil, c.err
	case c.reread != nil:
		if _, err := c.reread.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return c.reread, nil
	}
	return bytes.NewReader(c.mem), nil
}

// Close releases the temporary file, if there is one; later writes fail.
func (c *stdinCopy) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.release()
}

// release closes and removes the temporary file, if there is one.
func (c *stdinCopy) release() error {
	var err error
	for _, f := range []*os.File{c.spool, c.reread} {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
	}
	c.spool, c.reread = nil, nil
	if c.path != "" {
		err = errors.Join(err, os.Remove(c.path))
		c.path = ""
	}
	return err
}
