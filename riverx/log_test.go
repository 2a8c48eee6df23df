package riverx_test

import (
	"io"
	"log/slog"
)

// quietLogger keeps River's own logging out of the test output.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
