package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputSpool: beyond the memory limit the copy goes to a temporary
// file, every attempt reads all of it from the start, and nothing is left
// in the temporary directory, even while retry runs.
func TestInputSpool(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	const data = "0123456789abcdefghij"
	for _, limit := range []int64{0, 4, int64(len(data)) - 1} {
		in := newInput(strings.NewReader(data), stdinEvery, limit, defaultStdinLimit)
		assert.Equal(t, []string{data, data, data}, attempts(t, in))
		require.NotNil(t, in.cp.spool, "limit %d", limit)
		assert.Nil(t, in.cp.mem)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "the spool is unlinked at once")
		spool, reread := in.cp.spool, in.cp.reread
		require.NoError(t, in.Close())
		require.NoError(t, in.Close(), "Close twice is harmless")
		for _, f := range []*os.File{spool, reread} {
			_, err = f.Stat()
			assert.ErrorIs(t, err, os.ErrClosed, "Close releases the file")
		}
	}

	// At the limit exactly, the copy stays in memory.
	in := newInput(strings.NewReader(data), stdinEvery, int64(len(data)), defaultStdinLimit)
	defer in.Close()
	assert.Equal(t, []string{data, data, data}, attempts(t, in))
	assert.Nil(t, in.cp.spool)
}

// TestInputSpoolIsAFile: a later attempt gets the temporary file itself,
// which the command inherits, rather than a pipe that retry feeds.
func TestInputSpoolIsAFile(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	in := newInput(strings.NewReader("0123456789"), stdinEvery, 4, defaultStdinLimit)
	defer in.Close()
	assert.Equal(t, "0123456789", attempt(t, in))
	for range 2 {
		r := next(t, in)
		assert.Same(t, in.cp.reread, r)
		assert.Equal(t, "0123456789", readAll(t, r))
		in.done()
	}
}

// TestInputCloseRemovesNamedSpool: where the spool could not be unlinked
// at once (Windows), Close removes it.
func TestInputCloseRemovesNamedSpool(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "spool")
	require.NoError(t, err)
	in := &input{mode: stdinEvery, cp: &stdinCopy{spool: f, path: f.Name()}}
	require.NoError(t, in.Close())
	_, err = os.Stat(f.Name())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestInputLimit: the copy stops at the limit; the first attempt still
// reads all of the input, and a later attempt fails with errStdinLimit.
func TestInputLimit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	for _, memLimit := range []int64{4, stdinMemoryLimit} {
		in := newInput(strings.NewReader("0123456789abcdef"), stdinEvery, memLimit, 10)
		assert.Equal(t, "0123456789abcdef", attempt(t, in))
		_, err := in.next(t.Context())
		assert.ErrorIs(t, err, errStdinLimit)
		assert.Nil(t, in.cp.spool, "the copy is dropped at once")
		assert.Nil(t, in.cp.mem)
		require.NoError(t, in.Close())
	}
	in := newInput(strings.NewReader("0123456789"), stdinEvery, 4, 10)
	defer in.Close()
	assert.Equal(t, []string{"0123456789", "0123456789", "0123456789"}, attempts(t, in), "at the limit exactly")
}

// endless is an input that never ends: a producer that never closes it.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'y'
	}
	return len(p), nil
}

// TestInputEndless: an input that never ends reaches the first attempt as
// it comes (nothing is read to its end first), and a retry stops at the
// limit rather than reading for ever.
func TestInputEndless(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	in := newInput(endless{}, stdinEvery, 1<<10, 1<<20)
	defer in.Close()
	r := next(t, in)
	_, ok := r.(*os.File)
	assert.True(t, ok, "a pipe the command inherits: %T", r)
	buf := make([]byte, 100)
	_, err := io.ReadFull(r, buf)
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("y", 100), string(buf))
	in.done()
	_, err = in.next(t.Context())
	assert.ErrorIs(t, err, errStdinLimit)
}
