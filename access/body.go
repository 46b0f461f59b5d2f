package access

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// This file reads the head of a request body without losing it: the
// classifier looks at up to a limit of bytes, and the member then receives
// those bytes followed by the rest of the stream, never read here. Nothing
// is buffered past the limit, whatever the body's size.

// errBodyLimit is a body whose call does not fit in the limit.
var errBodyLimit = errors.New("the call does not fit in the body limit")

// prefix holds the bytes read so far from a body.
type prefix struct {
	r     io.Reader
	buf   []byte
	limit int
	err   error // the error that ended reading (io.EOF at the end)
}

// fill reads until the prefix holds n bytes. It fails when n is over the
// limit or the body ends first.
func (p *prefix) fill(n int) error {
	if n > p.limit {
		return errBodyLimit
	}
	for len(p.buf) < n && p.err == nil {
		if cap(p.buf) < n {
			p.buf = append(make([]byte, 0, min(max(2*cap(p.buf), n, 512), p.limit)), p.buf...)
		}
		var k int
		k, p.err = p.r.Read(p.buf[len(p.buf):cap(p.buf)])
		p.buf = p.buf[:len(p.buf)+k]
	}
	if len(p.buf) >= n {
		return nil
	}
	if p.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return p.err
}

// all reads the whole body; it fails when the body is over the limit.
func (p *prefix) all() ([]byte, error) {
	for p.err == nil {
		if err := p.fill(len(p.buf) + 1); err != nil && err != io.ErrUnexpectedEOF {
			return nil, err
		}
	}
	if p.err != io.EOF {
		return nil, p.err
	}
	return p.buf, nil
}

// line returns the bytes before the next '\n' from offset off, at most max
// of them.
func (p *prefix) line(off, max int) ([]byte, error) {
	for i := off; i < off+max+1; i++ {
		if err := p.fill(i + 1); err != nil {
			return nil, err
		}
		if p.buf[i] == '\n' {
			return p.buf[off:i], nil
		}
	}
	return nil, errors.New("record length is too long")
}

// replay returns the body to send on: the bytes read, then whatever ended
// reading (the rest of the body, or its error).
func (p *prefix) replay(body io.ReadCloser) io.ReadCloser {
	if len(p.buf) == 0 && p.err == nil {
		return body
	}
	var rest io.Reader = body
	if p.err != nil {
		rest = errReader{p.err}
	}
	return replayBody{io.MultiReader(bytes.NewReader(p.buf), rest), body}
}

// replayBody reads the replayed bytes and closes the original body.
type replayBody struct {
	io.Reader
	body io.Closer
}

// Close closes the original body.
func (b replayBody) Close() error { return b.body.Close() }

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// lateBody is what is sent on when ctx ended while the body was being
// read: the reading goroutine still owns the body, so nothing more of it
// can be replayed.
type lateBody struct {
	err  error
	body io.Closer
}

func (b lateBody) Read([]byte) (int, error) { return 0, b.err }
func (b lateBody) Close() error             { return b.body.Close() }

// readHead runs parse over the head of body, for as long as ctx lasts. It
// returns parse's result and the body to send on. When ctx ends first, the
// result is a write and the body returned fails with ctx's error; the
// reader goroutine ends when the body's Read returns (net/http's request
// bodies return once the handler has returned).
func readHead(ctx context.Context, body io.ReadCloser, limit int, parse func(*prefix) Operation) (Operation, io.ReadCloser) {
	if body == nil || body == http.NoBody {
		p := &prefix{r: bytes.NewReader(nil), limit: limit}
		return parse(p), body
	}
	p := &prefix{r: body, limit: limit}
	if ctx.Done() == nil {
		return parse(p), p.replay(body)
	}
	done := make(chan Operation, 1)
	go func() { done <- parse(p) }()
	select {
	case op := <-done:
		return op, p.replay(body)
	case <-ctx.Done():
		return Operation{Reason: "the call was not read in time"}, lateBody{ctx.Err(), body}
	}
}
