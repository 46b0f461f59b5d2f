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
//
// Requests that carry a body may hold half of a member's slots at most: a
// body comes at the client's pace (a member such as libprocess reads it
// whole before answering), so clients that stop sending theirs hold their
// slots until the gateway's body idle timeout cuts them, and without a
// share of their own they would take the slots of every read (the
// WebUI's, which carry none) for that long.

// inFlight counts requests in flight per address.
type inFlight struct {
	max   int
	mu    sync.Mutex
	slots map[string]*memberSlots
}

// memberSlots are one address's slots: every request takes one of all,
// a request with a body first one of bodies.
type memberSlots struct {
	all, bodies chan struct{}
}

func newInFlight(max int) *inFlight {
	return &inFlight{max: max, slots: map[string]*memberSlots{}}
}

// acquire takes a slot of addr (a request with a body, one of the bodies'
// share first), waiting up to wait in all (and never past ctx) for them to
// free; it returns the function that gives them back.
func (f *inFlight) acquire(ctx context.Context, addr string, wait time.Duration, body bool) (func(), error) {
	s := f.slotsOf(addr)
	w := &slotWait{ctx: ctx, wait: wait}
	defer w.stop()
	if body {
		if err := w.take(s.bodies); err != nil {
			return nil, err
		}
	}
	if err := w.take(s.all); err != nil {
		if body {
			<-s.bodies
		}
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-s.all
			if body {
				<-s.bodies
			}
		})
	}, nil
}

// slotsOf returns addr's slots, made on first use.
func (f *inFlight) slotsOf(addr string) *memberSlots {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.slots[addr]
	if s == nil {
		s = &memberSlots{all: make(chan struct{}, f.max), bodies: make(chan struct{}, max(1, f.max/2))}
		f.slots[addr] = s
	}
	return s
}

// slotWait is one request's wait for its slots: a single timer, started
// when a slot is not free at once.
type slotWait struct {
	ctx  context.Context
	wait time.Duration
	t    *time.Timer
}

// take takes a slot of ch, waiting while the timer and ctx last.
func (w *slotWait) take(ch chan struct{}) error {
	select {
	case ch <- struct{}{}:
		return nil
	default:
	}
	if w.t == nil {
		w.t = time.NewTimer(w.wait)
	}
	select {
	case ch <- struct{}{}:
		return nil
	case <-w.t.C:
		return context.DeadlineExceeded
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

func (w *slotWait) stop() {
	if w.t != nil {
		w.t.Stop()
	}
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
