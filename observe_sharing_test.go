package retry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLogToSharing(t *testing.T) {
	var buf bytes.Buffer
	o := LogTo(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime})))
	o.Sharing(context.Background(), SharingInfo{Kind: "budget", Name: "payments", Err: errors.New("redis: connection refused")})
	o.Sharing(context.Background(), SharingInfo{Kind: "budget", Name: "payments", Shared: true})
	assert.Equal(t, `level=ERROR msg="not sharing" kind=budget name=payments error="redis: connection refused"
level=INFO msg="sharing again" kind=budget name=payments
`, buf.String())
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
