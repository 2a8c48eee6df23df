package main

import (
	"bytes"
	"io"
	"os"
)

// childStdin returns, for each attempt, what the command reads as standard
// input:
//   - with replay, stdin read to its end once, now, and replayed to every
//     attempt;
//   - a character device (a terminal, or /dev/null) is passed to every
//     attempt: a terminal is live input that no attempt uses up;
//   - anything else (a pipe, a file) is not given to the command, which
//     reads an empty input, so that attempt 1 cannot consume what attempt
//     2 would then miss.
func childStdin(stdin io.Reader, replay bool) (func() io.Reader, error) {
	if replay {
		var data []byte
		if stdin != nil {
			var err error
			if data, err = io.ReadAll(stdin); err != nil {
				return nil, err
			}
		}
		return func() io.Reader { return bytes.NewReader(data) }, nil
	}
	if f, ok := stdin.(*os.File); ok && f != nil && isCharDevice(f) {
		return func() io.Reader { return f }, nil
	}
	return func() io.Reader { return nil }, nil
}

func isCharDevice(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
