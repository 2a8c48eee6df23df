package httpx

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// drainLimit bounds how much of a retried response's body is read so that
// its connection can be reused; a longer body closes the connection.
const drainLimit = 64 << 10

// release reads a response body that is about to be retried into memory
// and closes it, so that its connection goes back to the pool before the
// wait rather than after it; the response may still be the one handed
// back, so the returned body reads the same bytes. A body longer than
// drainLimit (by size, the Content-Length, or found by reading), or one
// that fails to read, is not worth holding in memory: it stays open
// (behind the bytes already read), and discard closes it.
func release(body io.ReadCloser, size int64) io.ReadCloser {
	if body == http.NoBody || size > drainLimit {
		return body
	}
	data, err := io.ReadAll(io.LimitReader(body, drainLimit+1))
	if err != nil || len(data) > drainLimit {
		return &prefixed{io.MultiReader(bytes.NewReader(data), body), body}
	}
	_ = body.Close()
	if len(data) == 0 {
		return http.NoBody
	}
	return &buffered{*bytes.NewReader(data)}
}

// buffered is a response body read into memory.
type buffered struct{ bytes.Reader }

func (*buffered) Close() error { return nil }

// prefixed is a response body partly read into memory: the bytes read,
// then the rest of the body.
type prefixed struct {
	io.Reader
	body io.Closer
}

func (p *prefixed) Close() error { return p.body.Close() }

// drain reads (up to drainLimit) and closes a response that is not
// handed back, so that its connection is reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
}

// releaser returns body with a Close that also calls cancel. A body that
// is also a Writer (a 101 Switching Protocols response) stays one.
func releaser(body io.ReadCloser, cancel context.CancelCauseFunc) io.ReadCloser {
	if rw, ok := body.(io.ReadWriteCloser); ok {
		return &releaseRW{releaseBody{rw, cancel}, rw}
	}
	return &releaseBody{body, cancel}
}

type releaseBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

type releaseRW struct {
	releaseBody
	w io.Writer
}

func (b *releaseRW) Write(p []byte) (int, error) { return b.w.Write(p) }
