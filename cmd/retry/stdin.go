package main

import (
	"bytes"
	"errors"
	"io"
	"os"
)

// What -stdin accepts: which attempts get retry's standard input.
const (
	stdinEvery = "every" // read once, given to every attempt from the start
	stdinFirst = "first" // given as is to the first attempt only
	stdinNone  = "none"  // given to no attempt
)

var stdinModes = []string{stdinEvery, stdinFirst, stdinNone}

// stdinMemoryLimit is how much of a piped or redirected standard input
// -stdin every keeps in memory; the rest of a longer input goes with it to
// a temporary file.
const stdinMemoryLimit = 1 << 20 // 1 MiB

// input gives each attempt its standard input. An attempt that gets none
// reads an empty input (/dev/null).
type input struct {
	mode  string
	live  io.Reader // passed as is: a terminal, or the input for -stdin first
	data  []byte    // -stdin every: the whole input, when it fit in memory
	spool *os.File  // -stdin every: the whole input, when it did not
	size  int64     // the spool's length
	path  string    // the spool's name, while it still has one
	n     int       // attempts served
}

// newInput prepares standard input for the attempts, as mode says.
//
// A terminal (a character device, which includes /dev/null) is live input
// that no attempt uses up: with every, each attempt gets it as is. Any
// other input (a pipe, a file) is, with every, read to its end now, kept in
// memory up to memLimit bytes, and written to a temporary file beyond that;
// each attempt then reads it from the start. The file is unlinked as soon
// as it is written where the system allows it (so nothing is left behind
// even if retry is killed), and otherwise by Close.
func newInput(stdin io.Reader, mode string, memLimit int64) (*input, error) {
	in := &input{mode: mode}
	if f, ok := stdin.(*os.File); ok && f == nil {
		stdin = nil
	}
	switch {
	case stdin == nil || mode == stdinNone:
		return in, nil
	case mode == stdinFirst || isTerminal(stdin):
		in.live = stdin
		return in, nil
	}
	var head bytes.Buffer
	if _, err := io.CopyN(&head, stdin, memLimit+1); err != nil {
		if errors.Is(err, io.EOF) {
			in.data = head.Bytes()
			return in, nil
		}
		return nil, err
	}
	if err := in.spoolAll(&head, stdin); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// spoolAll writes head and the rest of stdin to a temporary file.
func (in *input) spoolAll(head *bytes.Buffer, stdin io.Reader) error {
	f, err := os.CreateTemp("", "retry-stdin-*")
	if err != nil {
		return err
	}
	in.spool, in.path = f, f.Name()
	if os.Remove(in.path) == nil {
		in.path = "" // unlinked: the open file lives on until Close
	}
	n, err := io.Copy(f, io.MultiReader(head, stdin))
	in.size = n
	return err
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

// next returns the standard input of the next attempt; nil means an empty
// input.
func (in *input) next() io.Reader {
	in.n++
	switch {
	case in.live != nil && (in.mode == stdinEvery || in.n == 1):
		return in.live
	case in.spool != nil:
		return io.NewSectionReader(in.spool, 0, in.size)
	case in.data != nil:
		return bytes.NewReader(in.data)
	}
	return nil
}

// Close releases the temporary file, if there is one. It is safe to call
// more than once.
func (in *input) Close() error {
	var err error
	if in.spool != nil {
		err = in.spool.Close()
		in.spool = nil
	}
	if in.path != "" {
		err = errors.Join(err, os.Remove(in.path))
		in.path = ""
	}
	return err
}
