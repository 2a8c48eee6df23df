package main

import (
	"io"
	"os"
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
	return []string{readAll(t, in.next()), readAll(t, in.next()), readAll(t, in.next())}
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
			in, err := newInput(tt.stdin, tt.mode, stdinMemoryLimit)
			require.NoError(t, err)
			defer in.Close()
			assert.Equal(t, tt.want, attempts(t, in))
			assert.Nil(t, in.spool, "nothing spooled below the memory limit")
		})
	}
}

// TestInputTerminal: a character device (/dev/null here, as a terminal
// would be) is passed to every attempt as is, never read ahead.
func TestInputTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	in, err := newInput(f, stdinEvery, stdinMemoryLimit)
	require.NoError(t, err)
	assert.Same(t, f, in.next())
	assert.Same(t, f, in.next())

	in, err = newInput(f, stdinFirst, stdinMemoryLimit)
	require.NoError(t, err)
	assert.Same(t, f, in.next())
	assert.Nil(t, in.next())

	in, err = newInput(f, stdinNone, stdinMemoryLimit)
	require.NoError(t, err)
	assert.Nil(t, in.next())
}

// TestInputSpool: beyond the memory limit the input goes to a temporary
// file, every attempt reads all of it from the start, and nothing is left
// in the temporary directory, even while retry runs.
func TestInputSpool(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	const data = "0123456789abcdefghij"
	for _, limit := range []int64{0, 4, int64(len(data)) - 1} {
		in, err := newInput(strings.NewReader(data), stdinEvery, limit)
		require.NoError(t, err)
		require.NotNil(t, in.spool, "limit %d", limit)
		assert.Nil(t, in.data)
		assert.Equal(t, []string{data, data, data}, attempts(t, in))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "the spool is unlinked once written")
		spool := in.spool
		require.NoError(t, in.Close())
		require.NoError(t, in.Close(), "Close twice is harmless")
		_, err = spool.Stat()
		assert.ErrorIs(t, err, os.ErrClosed, "Close releases the file")
	}

	// At the limit exactly, the input stays in memory.
	in, err := newInput(strings.NewReader(data), stdinEvery, int64(len(data)))
	require.NoError(t, err)
	assert.Nil(t, in.spool)
	assert.Equal(t, data, readAll(t, in.next()))
}

// TestInputCloseRemovesNamedSpool: where the spool could not be unlinked
// at once (Windows), Close removes it.
func TestInputCloseRemovesNamedSpool(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "spool")
	require.NoError(t, err)
	in := &input{mode: stdinEvery, spool: f, path: f.Name()}
	require.NoError(t, in.Close())
	_, err = os.Stat(f.Name())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestInputErrors(t *testing.T) {
	_, err := newInput(iotest.ErrReader(io.ErrUnexpectedEOF), stdinEvery, stdinMemoryLimit)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)

	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	r := io.MultiReader(strings.NewReader("more than four bytes"), iotest.ErrReader(io.ErrClosedPipe))
	_, err = newInput(r, stdinEvery, 4)
	assert.ErrorIs(t, err, io.ErrClosedPipe, "a failure while spooling")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)

	t.Setenv("TMPDIR", dir+"/missing")
	_, err = newInput(strings.NewReader("more than four bytes"), stdinEvery, 4)
	assert.ErrorIs(t, err, os.ErrNotExist, "no temporary directory")

	// -stdin first and none do not read the input, so cannot fail on it.
	for _, mode := range []string{stdinFirst, stdinNone} {
		_, err := newInput(iotest.ErrReader(io.ErrUnexpectedEOF), mode, stdinMemoryLimit)
		assert.NoError(t, err, mode)
	}
}
