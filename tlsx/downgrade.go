package tlsx

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// Kind is what the first bytes of a connection say it speaks.
type Kind int

// The kinds a downgrade listener tells apart.
const (
	Plain Kind = iota
	TLS
)

func (k Kind) String() string {
	if k == TLS {
		return "tls"
	}
	return "plain"
}

// peekLen is how many bytes libprocess peeks (openssl_socket.cpp: "Try to
// peek the first 6 bytes of the message").
const peekLen = 6

// Classify applies libprocess's rule to the first bytes of a connection:
// fewer than 3 bytes -> plain; high bit of the first byte set and the third
// byte 0x01 (an SSLv2-style ClientHello) -> TLS; 0x16 (handshake record),
// 0x03 (major version 3) and a sixth byte 0x01 (ClientHello) -> TLS;
// anything else -> plain. HTTP never starts with such bytes.
func Classify(b []byte) Kind {
	switch {
	case len(b) < 3:
		return Plain
	case b[0]&0x80 != 0 && b[2] == 0x01:
		return TLS
	case len(b) >= 6 && b[0] == 0x16 && b[1] == 0x03 && b[5] == 0x01:
		return TLS
	}
	return Plain
}

// decided reports whether the bytes seen so far already fix the outcome of
// Classify, so the listener stops waiting for more: a first byte that can
// start neither form of ClientHello is plain at once.
func decided(b []byte) bool {
	switch {
	case len(b) >= peekLen:
		return true
	case len(b) == 0:
		return false
	case b[0]&0x80 != 0:
		return len(b) >= 3
	case b[0] == 0x16:
		return len(b) >= 2 && b[1] != 0x03
	}
	return true
}

// NewListener wraps inner by the Context's settings: SSL off returns inner
// unchanged; SSL on without SUPPORT_DOWNGRADE makes every connection TLS
// with cfg; with SUPPORT_DOWNGRADE each connection is classified by its
// first bytes (see Classify) off the accept loop, under the handshake
// timeout, and served as TLS or plain with those bytes replayed. A
// connection that sends nothing before the timeout is closed, never
// guessed. cfg nil means c.ServerConfig().
//
// The TLS handshake itself happens when the server first uses the
// connection; its time limit is the server's (http.Server bounds it by
// ReadHeaderTimeout or ReadTimeout), as for tls.NewListener.
func (c *Context) NewListener(inner net.Listener, cfg *tls.Config) net.Listener {
	if !c.s.Enabled.Or(false) {
		return inner
	}
	if cfg == nil {
		cfg = c.ServerConfig()
	}
	if !c.s.SupportDowngrade {
		return tls.NewListener(inner, cfg)
	}
	timeout := c.opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return NewDowngradeListener(inner, cfg, timeout)
}

// NewDowngradeListener serves TLS (with cfg) and plain connections on one
// listener, telling them apart as NewListener describes. Close stops its
// goroutines and closes the connections not yet returned by Accept.
func NewDowngradeListener(inner net.Listener, cfg *tls.Config, timeout time.Duration) net.Listener {
	l := &downgradeListener{
		Listener: inner,
		cfg:      cfg,
		timeout:  timeout,
		conns:    make(chan net.Conn),
		done:     make(chan struct{}),
		pending:  map[net.Conn]struct{}{},
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

type downgradeListener struct {
	net.Listener
	cfg     *tls.Config
	timeout time.Duration

	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup // the accept loop and the classifying goroutines

	mu      sync.Mutex
	err     error                 // the inner listener's permanent error
	closed  bool                  // Close was called: no new classification
	pending map[net.Conn]struct{} // accepted, not yet handed to Accept
}

// acceptLoop accepts without ever reading: classification happens in a
// goroutine per connection, so a client that connects and stays silent
// delays nobody else.
func (l *downgradeListener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			if retryableAccept(err) {
				// Out of file descriptors and the like: back off as
				// net/http does instead of spinning or giving up.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
					continue
				case <-l.done:
					t.Stop()
					return
				}
			}
			l.mu.Lock()
			if l.err == nil {
				l.err = err
			}
			l.mu.Unlock()
			l.close()
			return
		}
		delay = 0
		if !l.track(conn) {
			conn.Close()
			return
		}
		l.wg.Add(1)
		go l.classify(conn)
	}
}

// track records a connection being classified, so Close can end it; it
// reports false once the listener is closed.
func (l *downgradeListener) track(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.pending[conn] = struct{}{}
	return true
}

func (l *downgradeListener) untrack(conn net.Conn) {
	l.mu.Lock()
	delete(l.pending, conn)
	l.mu.Unlock()
}

// classify reads up to peekLen bytes under the deadline and hands the
// connection to Accept as TLS or plain.
func (l *downgradeListener) classify(conn net.Conn) {
	defer l.wg.Done()
	defer l.untrack(conn)
	buf := make([]byte, peekLen)
	n := 0
	conn.SetReadDeadline(time.Now().Add(l.timeout))
	for !decided(buf[:n]) {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	conn.SetReadDeadline(time.Time{})
	if n == 0 {
		// Silence (or an immediate close) until the deadline: neither
		// kind, so nothing is served.
		conn.Close()
		return
	}
	var out net.Conn = &replayConn{Conn: conn, peeked: buf[:n]}
	if Classify(buf[:n]) == TLS {
		out = tls.Server(out, l.cfg)
	}
	select {
	case l.conns <- out:
	case <-l.done:
		conn.Close()
	}
}

// Accept returns the next classified connection: a *tls.Conn for TLS (so
// net/http sees TLS state and negotiates h2 through ALPN), the raw
// connection with its first bytes replayed for plain.
func (l *downgradeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil && !l.closed {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the connections still being classified
// and returns once every goroutine of the listener has ended.
func (l *downgradeListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	for conn := range l.pending {
		conn.Close() // ends a classification blocked in Read
	}
	l.mu.Unlock()
	l.close()
	l.wg.Wait()
	return err
}

func (l *downgradeListener) close() {
	l.once.Do(func() { close(l.done) })
}

// replayConn returns the peeked bytes before reading further from the
// connection.
type replayConn struct {
	net.Conn
	peeked []byte
}

// CloseWrite half-closes a TCP connection, which net/http uses to let a
// client read an error response before the connection goes away. On a
// connection that cannot half-close it does nothing.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.peeked) > 0 {
		n := copy(p, c.peeked)
		c.peeked = c.peeked[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// retryableAccept reports whether an Accept error is passing: running out
// of file descriptors (EMFILE, ENFILE) or memory for sockets, or a client
// that went away before it was accepted. net/http retries the same errors
// (through the deprecated Temporary); giving up on them would close the
// listener for good after one burst of load.
func retryableAccept(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
