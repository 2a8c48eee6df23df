package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

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
