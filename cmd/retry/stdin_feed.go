package main

import (
	"fmt"
	"io"
	"os"
)

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
