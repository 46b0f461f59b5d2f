package upstream

import (
	"context"
	"io"
	"sync"
	"time"
)

// This file bounds the requests in flight to one member (or framework UI)
// through the gateway: a browser, or many, holding requests open (slow
// uploads, long polls, a flood) cannot take every connection the member
// accepts. Beyond the bound a request waits a moment for one to end, then
// is refused (ReasonBusy, 503).

// inFlight counts requests in flight per address.
type inFlight struct {
	max   int
	mu    sync.Mutex
	slots map[string]chan struct{}
}

func newInFlight(max int) *inFlight {
	return &inFlight{max: max, slots: map[string]chan struct{}{}}
}

// acquire takes a slot of addr, waiting up to wait (and never past ctx)
// for one to free; it returns the function that gives it back.
func (f *inFlight) acquire(ctx context.Context, addr string, wait time.Duration) (func(), error) {
	f.mu.Lock()
	ch := f.slots[addr]
	if ch == nil {
		ch = make(chan struct{}, f.max)
		f.slots[addr] = ch
	}
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case ch <- struct{}{}:
		case <-t.C:
			return nil, context.DeadlineExceeded
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-ch }) }, nil
}

// releasing returns body so that closing it gives the slot back. An
// upgraded connection's body (a WebSocket's, io.ReadWriteCloser) stays one.
func releasing(body io.ReadCloser, release func()) io.ReadCloser {
	if body == nil {
		release()
		return nil
	}
	if rwc, ok := body.(io.ReadWriteCloser); ok {
		return &releasingRWC{ReadWriteCloser: rwc, release: release}
	}
	return &releasingBody{ReadCloser: body, release: release}
}

type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

type releasingRWC struct {
	io.ReadWriteCloser
	release func()
}

func (b *releasingRWC) Close() error {
	err := b.ReadWriteCloser.Close()
	b.release()
	return err
}
