package main

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads an attempt's standard input; nil reads as empty, as
// /dev/null does.
func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	if r == nil {
		return ""
	}
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

// attempts returns what three attempts would read.
func attempts(t *testing.T, in *input) []string {
	t.Helper()
	return []string{attempt(t, in), attempt(t, in), attempt(t, in)}
}

// attempt returns what the next attempt reads, all of it.
func attempt(t *testing.T, in *input) string {
	t.Helper()
	r, err := in.next(t.Context())
	require.NoError(t, err)
	defer in.done()
	return readAll(t, r)
}

// next returns the next attempt's input, which must not fail.
func next(t *testing.T, in *input) io.Reader {
	t.Helper()
	r, err := in.next(t.Context())
	require.NoError(t, err)
	return r
}

func TestInputModes(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		stdin io.Reader
		want  []string
	}{
		{"every: each attempt reads all of it", stdinEvery, strings.NewReader("hello\n"), []string{"hello\n", "hello\n", "hello\n"}},
		{"every: an empty input", stdinEvery, strings.NewReader(""), []string{"", "", ""}},
		{"every: read in small pieces", stdinEvery, iotest.OneByteReader(strings.NewReader("abc")), []string{"abc", "abc", "abc"}},
		{"first: the first attempt only", stdinFirst, strings.NewReader("hello\n"), []string{"hello\n", "", ""}},
		{"none: no attempt", stdinNone, strings.NewReader("hello\n"), []string{"", "", ""}},
		{"no standard input", stdinEvery, nil, []string{"", "", ""}},
		{"a nil *os.File", stdinFirst, (*os.File)(nil), []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInput(tt.stdin, tt.mode, stdinMemoryLimit, defaultStdinLimit)
			defer in.Close()
			assert.Equal(t, tt.want, attempts(t, in))
			if in.cp != nil {
				assert.Nil(t, in.cp.spool, "nothing spooled below the memory limit")
			}
		})
	}
}

// TestInputTerminal: a character device (/dev/null here, as a terminal
// would be) is passed to every attempt as is, never read ahead.
func TestInputTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	in := newInput(f, stdinEvery, stdinMemoryLimit, defaultStdinLimit)
	assert.Same(t, f, next(t, in))
	assert.Same(t, f, next(t, in))

	in = newInput(f, stdinFirst, stdinMemoryLimit, defaultStdinLimit)
	assert.Same(t, f, next(t, in))
	assert.Nil(t, next(t, in))

	in = newInput(f, stdinNone, stdinMemoryLimit, defaultStdinLimit)
	assert.Nil(t, next(t, in))
}

func TestInputErrors(t *testing.T) {
	in := newInput(iotest.ErrReader(io.ErrUnexpectedEOF), stdinEvery, stdinMemoryLimit, defaultStdinLimit)
	assert.Empty(t, attempt(t, in), "the first attempt reads what there is")
	_, err := in.next(t.Context())
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a later attempt cannot have the whole input")
	in.Close()

	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	r := io.MultiReader(strings.NewReader("more than four bytes"), iotest.ErrReader(io.ErrClosedPipe))
	in = newInput(r, stdinEvery, 4, defaultStdinLimit)
	assert.Equal(t, "more than four bytes", attempt(t, in))
	_, err = in.next(t.Context())
	assert.ErrorIs(t, err, io.ErrClosedPipe, "a failure while spooling")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
	in.Close()

	t.Setenv("TMPDIR", dir+"/missing")
	in = newInput(strings.NewReader("more than four bytes"), stdinEvery, 4, defaultStdinLimit)
	assert.Equal(t, "more than four bytes", attempt(t, in), "the first attempt does not need the copy")
	_, err = in.next(t.Context())
	assert.ErrorIs(t, err, os.ErrNotExist, "no temporary directory")
	in.Close()

	// -stdin first and none do not read the input, so cannot fail on it.
	for _, mode := range []string{stdinFirst, stdinNone} {
		in := newInput(iotest.ErrReader(io.ErrUnexpectedEOF), mode, stdinMemoryLimit, defaultStdinLimit)
		for range 2 {
			_, err := in.next(t.Context())
			assert.NoError(t, err, mode)
		}
	}
}

// TestInputSlowProducer: the first attempt reads what has come so far
// without waiting for the end of the input; the next attempt reads all of
// it, the part the first attempt did not read included.
func TestInputSlowProducer(t *testing.T) {
	pr, pw := io.Pipe()
	in := newInput(pr, stdinEvery, stdinMemoryLimit, defaultStdinLimit)
	defer in.Close()
	go io.WriteString(pw, "first\n") // the producer then pauses
	r := next(t, in)
	line := make([]byte, len("first\n"))
	_, err := io.ReadFull(r, line)
	require.NoError(t, err)
	assert.Equal(t, "first\n", string(line), "read before the input ended")
	in.done()
	go func() {
		io.WriteString(pw, "second\n")
		pw.Close()
	}()
	assert.Equal(t, "first\nsecond\n", attempt(t, in))
	assert.Equal(t, "first\nsecond\n", attempt(t, in))
}

// TestInputRegularFile: a redirected file is given itself to every
// attempt, from where it was when retry started, without a copy.
func TestInputRegularFile(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()+"/missing") // a copy would fail
	name := t.TempDir() + "/in"
	require.NoError(t, os.WriteFile(name, []byte("skip:0123456789"), 0o600))
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Seek(int64(len("skip:")), io.SeekStart)
	require.NoError(t, err)
	in := newInput(f, stdinEvery, 4, 4)
	defer in.Close()
	for range 3 {
		r := next(t, in)
		assert.Same(t, f, r)
		assert.Equal(t, "0123456789", readAll(t, r))
		in.done()
	}
	assert.Nil(t, in.cp, "no copy")
}

// TestInputClosesFiles: once the attempts are done and the input closed,
// retry holds no more files than before: neither the pipes that fed the
// attempts nor the temporary file (which, unlinked at once, a look at the
// temporary directory cannot show).
func TestInputClosesFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts the open files in /proc/self/fd, which only Linux has")
	}
	t.Setenv("TMPDIR", t.TempDir())
	openFiles := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(entries)
	}
	run := func(stdin io.Reader, memLimit int64) {
		in := newInput(stdin, stdinEvery, memLimit, defaultStdinLimit)
		attempts(t, in)
		require.NoError(t, in.Close())
	}
	run(strings.NewReader("warm up"), 4) // the runtime's own files, opened once
	before := openFiles()
	run(strings.NewReader("0123456789"), 4)
	assert.Equal(t, before, openFiles(), "spooled")
	run(strings.NewReader("0123456789"), stdinMemoryLimit)
	assert.Equal(t, before, openFiles(), "in memory")
	in := newInput(strings.NewReader("0123456789"), stdinEvery, 4, defaultStdinLimit)
	_ = next(t, in)
	next(t, in) // no done: Close ends the feed too
	assert.Greater(t, openFiles(), before)
	require.NoError(t, in.Close())
	assert.Equal(t, before, openFiles(), "closed while an attempt ran")
}

// TestInputWaitEndsWithContext: a later attempt waits for the end of the
// input, and that wait ends with the context (a signal stops the retrying
// while the producer is still at work).
func TestInputWaitEndsWithContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	in := newInput(pr, stdinEvery, stdinMemoryLimit, defaultStdinLimit)
	defer in.Close()
	go io.WriteString(pw, "some")
	r := next(t, in)
	buf := make([]byte, 4)
	_, err := io.ReadFull(r, buf)
	require.NoError(t, err)
	in.done()
	ctx, cancel := context.WithCancelCause(t.Context())
	stopped := errors.New("interrupted")
	cancel(stopped)
	_, err = in.next(ctx)
	assert.ErrorIs(t, err, stopped)
}
