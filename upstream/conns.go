package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// This file is the gateway's own keep-alive pool to members, for what a
// browser mostly sends them: a GET or HEAD without a body. Such a request
// runs whole in the caller's goroutine, written and answered on a pooled
// connection (http.Request.Write, http.ReadResponse), where http.Transport
// hands each request to a writing goroutine and its answer back from a
// reading one: four goroutine switches a request, which on a busy 2-core
// machine cost more than the request's own work (issue 17: the JSONP
// benchmark's profiles). Everything else — bodies, upgrades (WebSockets),
// other methods, framework UIs — goes through the shared http.Transport
// as before. Both dial with the same functions, so the address policy and
// TLS settings are the same.

// memberConns is the pool: idle connections by scheme and address, as
// http.Transport keys them.
type memberConns struct {
	dial     func(ctx context.Context, scheme, addr string) (net.Conn, error)
	fallback http.RoundTripper
	// maxIdle is the idle connections kept per scheme and address,
	// maxIdleTotal in all, idleTimeout how long one may wait for its next
	// request (a timer closes those that waited longer).
	maxIdle      int
	maxIdleTotal int
	idleTimeout  time.Duration
	// maxHeader bounds a response's header, as
	// http.Transport.MaxResponseHeaderBytes does.
	maxHeader int64

	mu     sync.Mutex
	idle   map[connKey][]*memberConn
	nidle  int
	sweep  *time.Timer // pending while connections are idle
	closed bool
}

type connKey struct{ scheme, addr string }

// memberConn is one connection to a member with its buffers.
type memberConn struct {
	key    connKey
	conn   net.Conn
	lim    limitReader // what br reads from: the conn, bounded while a header is read
	br     *bufio.Reader
	bw     *bufio.Writer
	tls    *tls.ConnectionState
	idleAt time.Time
}

// limitReader reads from r, at most left bytes while left >= 0, and
// counts what it read.
type limitReader struct {
	r    io.Reader
	left int64
	read int64
}

var errHeaderTooLarge = errors.New("the member's response header is too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		n, err := l.r.Read(p)
		l.read += int64(n)
		return n, err
	}
	if l.left == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}

// pooled reports whether a request goes on the pool: a request that may be
// sent twice (GET, HEAD, OPTIONS, TRACE without a body, as http.Transport
// retries on a reused connection) and asks for no upgrade.
func pooled(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, "":
	default:
		return false
	}
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	return req.Header.Get("Upgrade") == "" && !req.Close
}

// RoundTrip sends req on a pooled connection (pooled requests) or through
// the fallback Transport.
func (p *memberConns) RoundTrip(req *http.Request) (*http.Response, error) {
	if !pooled(req) {
		return p.fallback.RoundTrip(req)
	}
	if err := validHeader(req.Header); err != nil {
		return nil, err
	}
	key := connKey{req.URL.Scheme, req.URL.Host}
	ctx := req.Context()
	for {
		mc, reused := p.get(key)
		if mc == nil {
			conn, err := p.dial(ctx, key.scheme, key.addr)
			if err != nil {
				return nil, err
			}
			mc = newMemberConn(key, conn)
		}
		before := mc.lim.read
		resp, err := p.exchange(ctx, mc, req)
		if err == nil {
			return resp, nil
		}
		mc.conn.Close()
		if reused && ctx.Err() == nil && mc.lim.read == before && staleConn(err) {
			// The member closed the idle connection before it saw the
			// request (its idle timeout, a restart): send it on
			// another, as http.Transport does.
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
}

// validHeader refuses what would break the request's framing, as
// http.Transport does before it writes anything.
func validHeader(h http.Header) error {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// staleConn reports an error of a reused connection that the member had
// closed before the request, when nothing of an answer came back
// (http.ReadResponse reports the end of the connection as
// io.ErrUnexpectedEOF).
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func newMemberConn(key connKey, conn net.Conn) *memberConn {
	mc := &memberConn{key: key, conn: conn}
	mc.lim = limitReader{r: conn, left: -1}
	mc.br = bufio.NewReaderSize(&mc.lim, 4<<10)
	mc.bw = bufio.NewWriterSize(conn, 4<<10)
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		mc.tls = &st
	}
	return mc
}

// exchange writes req on mc and reads the answer's header; the body is
// read by the caller, and mc goes back to the pool when it is read to its
// end (or closed when it is not).
func (p *memberConns) exchange(ctx context.Context, mc *memberConn, req *http.Request) (*http.Response, error) {
	// The request's end (the client left, the header timeout) cuts the
	// connection's reads and writes.
	stop := context.AfterFunc(ctx, func() { mc.conn.SetDeadline(time.Unix(1, 0)) })
	if err := req.Write(mc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := mc.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	mc.lim.left = p.maxHeader
	resp, err := http.ReadResponse(mc.br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 {
		if resp.StatusCode == http.StatusSwitchingProtocols {
			err = fmt.Errorf("a 101 answer to a request that asked for no upgrade")
			break
		}
		// 1xx informational answers (100, 103) come before the real one.
		resp, err = http.ReadResponse(mc.br, req)
	}
	mc.lim.left = -1
	if err != nil {
		stop()
		return nil, err
	}
	resp.TLS = mc.tls
	reuse := !resp.Close
	if resp.Body == http.NoBody {
		p.done(mc, stop, reuse)
		return resp, nil
	}
	resp.Body = &memberBody{body: resp.Body, mc: mc, pool: p, stop: stop, reuse: reuse}
	return resp, nil
}

// done ends an exchange on mc: back to the pool when it may carry another
// request, closed otherwise.
func (p *memberConns) done(mc *memberConn, stop func() bool, reuse bool) {
	if !stop() || !reuse {
		// The request's context ended: its deadline is on the conn.
		mc.conn.Close()
		return
	}
	p.put(mc)
}

// get takes the most recently used idle connection of key, closing those
// that waited too long.
func (p *memberConns) get(key connKey) (*memberConn, bool) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := p.idle[key]
	for len(conns) > 0 {
		mc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		p.nidle--
		if now.Sub(mc.idleAt) < p.idleTimeout {
			p.idle[key] = conns
			return mc, true
		}
		mc.conn.Close()
	}
	delete(p.idle, key)
	return nil, false
}

func (p *memberConns) put(mc *memberConn) {
	mc.idleAt = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle[mc.key]) >= p.maxIdle || p.nidle >= p.maxIdleTotal {
		p.mu.Unlock()
		mc.conn.Close()
		return
	}
	if p.idle == nil {
		p.idle = map[connKey][]*memberConn{}
	}
	p.idle[mc.key] = append(p.idle[mc.key], mc)
	p.nidle++
	if p.sweep == nil {
		p.sweep = time.AfterFunc(p.idleTimeout, p.closeExpired)
	}
	p.mu.Unlock()
}

// closeExpired closes the connections idle for idleTimeout or longer (a
// member nobody asks for any more keeps none open), and comes back while
// any are left.
func (p *memberConns) closeExpired() {
	now := time.Now()
	var expired []*memberConn
	p.mu.Lock()
	for key, conns := range p.idle {
		// Oldest first: put appends, get takes from the end.
		n := 0
		for n < len(conns) && now.Sub(conns[n].idleAt) >= p.idleTimeout {
			expired = append(expired, conns[n])
			n++
		}
		if n == len(conns) {
			delete(p.idle, key)
		} else if n > 0 {
			p.idle[key] = append(conns[:0], conns[n:]...)
		}
		p.nidle -= n
	}
	p.sweep = nil
	if p.nidle > 0 && !p.closed {
		p.sweep = time.AfterFunc(p.idleTimeout/2, p.closeExpired)
	}
	p.mu.Unlock()
	for _, mc := range expired {
		mc.conn.Close()
	}
}

// CloseIdleConnections closes the idle connections; later ones are closed
// as they become idle.
func (p *memberConns) CloseIdleConnections() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.nidle, p.closed = nil, 0, true
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, conns := range idle {
		for _, mc := range conns {
			mc.conn.Close()
		}
	}
	if t, ok := p.fallback.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// memberBody is a pooled response's body: read to its end, its connection
// goes back to the pool; closed before, the connection is closed (what is
// left of the body may be long).
type memberBody struct {
	body  io.ReadCloser
	mc    *memberConn
	pool  *memberConns
	stop  func() bool
	reuse bool
	ended bool
}

func (b *memberBody) Read(p []byte) (int, error) {
	if b.ended {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.ended = true
		b.pool.done(b.mc, b.stop, b.reuse)
	}
	return n, err
}

func (b *memberBody) Close() error {
	if b.ended {
		return nil
	}
	b.ended = true
	b.stop()
	return b.mc.conn.Close()
}
