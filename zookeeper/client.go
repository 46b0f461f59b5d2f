package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// DefaultTimeout is the session timeout when Options say none: Mesos's
// detector asks ZooKeeper for 10 seconds
// (MASTER_DETECTOR_ZK_SESSION_TIMEOUT).
const DefaultTimeout = 10 * time.Second

// Reconnection backoff: the first attempt is immediate, then each waits
// twice as long as the one before, up to maxBackoff, until a session is
// made.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 4 * time.Second
)

// client is one ZooKeeper client session and its plumbing. The library
// keeps the session: it reconnects after a lost connection (resending
// watches and credentials) and starts a new session when the old one
// expired.
type client struct {
	conn   *zk.Conn
	events <-chan zk.Event
	dialer *dialer
	url    URL
	authed bool // AddAuth succeeded (the library resends it on reconnect)
	// monitored, once monitor started, is closed when its goroutine
	// has read the last event.
	monitored chan struct{}
}

// connect starts a client for u. It returns at once: the session is made
// in the background, retried with backoff while ZooKeeper is unreachable.
func connect(u URL, timeout time.Duration, log *slog.Logger) (*client, error) {
	if len(u.Servers) == 0 {
		return nil, fmt.Errorf("ZooKeeper URL %s names no server: write it as %s", u, Example)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &dialer{done: make(chan struct{})}
	conn, events, err := zk.Connect(u.Servers, timeout,
		zk.WithHostProvider(d), zk.WithDialer(d.dial),
		zk.WithLogger(logAdapter{log}), zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("connect to ZooKeeper %s: %w", u, err)
	}
	return &client{conn: conn, events: events, dialer: d, url: u}, nil
}

// close ends the session (ZooKeeper deletes its ephemeral znodes at once)
// and waits until the library's goroutines are gone. The events channel
// must not be read by anyone else meanwhile.
func (c *client) close() {
	close(c.dialer.done) // stops a backoff wait, makes the library give up
	c.conn.Close()
	c.dialer.closeConn()
	if c.monitored != nil {
		<-c.monitored
		return
	}
	for range c.events {
	}
}

// monitor reads the client's events in a goroutine of its own until the
// client closes, calling onSession (if set) with each session state.
func (c *client) monitor(onSession func(zk.State)) {
	c.monitored = make(chan struct{})
	go func() {
		defer close(c.monitored)
		for ev := range c.events {
			if ev.Type == zk.EventSession && onSession != nil {
				onSession(ev.State)
			}
		}
	}()
}

// waitSession waits until the client has a session, reading its events
// (before monitor starts). When ctx ends first, the error says why there
// is none.
func (c *client) waitSession(ctx context.Context) error {
	for !c.hasSession() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w (gave up: %w)", ErrUnreachable, c.unreachable(), context.Cause(ctx))
		case <-c.events:
		}
	}
	return c.auth()
}

// ensurePath creates path and its missing parents with acl.
func (c *client) ensurePath(path string, acl []zk.ACL) error {
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		_, err := c.conn.Create(path[:i], nil, zk.FlagPersistent, acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create znode %s: %w", path[:i], err)
		}
	}
	return nil
}

// acl is what Mesos gives the znodes it creates (group.cpp): open to all
// without credentials; with them, readable by all and writable by their
// creator (EVERYONE_READ_CREATOR_ALL).
func (c *client) acl() []zk.ACL {
	if !c.url.HasCredentials() {
		return zk.WorldACL(zk.PermAll)
	}
	return append(zk.WorldACL(zk.PermRead), zk.AuthACL(zk.PermAll)...)
}

// hasSession reports whether the client has a live session (and, in
// race-detector builds, the library is done setting it up: libraryQuiet).
func (c *client) hasSession() bool {
	return c.conn.State() == zk.StateHasSession && libraryQuiet()
}

// auth sends the URL's digest credentials once per client; the library
// sends them again after every reconnection.
func (c *client) auth() error {
	if c.authed || !c.url.HasCredentials() {
		return nil
	}
	if err := c.conn.AddAuth("digest", c.url.digest()); err != nil {
		return fmt.Errorf("authenticate to ZooKeeper as %q: %w", c.url.User, err)
	}
	c.authed = true
	return nil
}

// unreachable describes why there is no session: the last dial error, or
// the state the library is in.
func (c *client) unreachable() error {
	servers := c.url.Servers
	if err := c.dialer.lastError(); err != nil {
		return fmt.Errorf("ZooKeeper %v unreachable: %w (retrying; check the servers in %s and that ZooKeeper runs)", servers, err, c.url)
	}
	switch c.conn.State() {
	case zk.StateExpired:
		return fmt.Errorf("ZooKeeper session expired; making a new one with %v", servers)
	case zk.StateConnected, zk.StateConnecting:
		return fmt.Errorf("connecting to ZooKeeper %v", servers)
	}
	return fmt.Errorf("lost the connection to ZooKeeper %v; reconnecting", servers)
}

// dialer is the client's host provider and dialer: it cycles through the
// servers and waits with exponential backoff between attempts until a
// session is made (the library's own provider waits a fixed second per
// round and resolves names once).
type dialer struct {
	done chan struct{} // closed when the client closes

	mu       sync.Mutex
	servers  []string
	next     int
	attempts int // since the last session was made
	lastErr  error
	conn     net.Conn // the latest connection made
}

var _ zk.HostProvider = (*dialer)(nil)

// Init is zk.HostProvider's: the servers as host:port.
func (d *dialer) Init(servers []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servers = append([]string(nil), servers...)
	return nil
}

// Len is zk.HostProvider's.
func (d *dialer) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.servers)
}

// Next is zk.HostProvider's. It reports retryStart only once the client
// is closing: that is where the library checks for Close.
func (d *dialer) Next() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.servers[d.next%len(d.servers)]
	d.next++
	return s, d.closed()
}

// Connected is zk.HostProvider's: a session was made.
func (d *dialer) Connected() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts, d.lastErr = 0, nil
}

func (d *dialer) closed() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// errClosing is what a dial returns once the client is closing.
var errClosing = errors.New("the ZooKeeper client is closing")

// dial waits the backoff the attempts so far call for, then dials.
func (d *dialer) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	wait := backoff(d.attempts)
	d.attempts++
	d.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.done:
			t.Stop()
			return nil, errClosing
		}
	}
	if d.closed() {
		return nil, errClosing
	}
	c, err := net.DialTimeout(network, addr, timeout)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastErr = err
	if err != nil {
		return nil, err
	}
	d.conn = &handshakeConn{Conn: c, limit: min(timeout, maxHandshake)}
	return d.conn, nil
}

// closeConn closes the connection in use, so a library goroutine blocked
// on it returns when the client closes.
func (d *dialer) closeConn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// maxHandshake bounds the wait for the answer to a connection's first
// request (the session handshake). The library allows ten times its
// receive timeout there (200 s for a 30 s session): a server that accepts
// a connection and does not answer (one still starting, or one that is
// stuck) would hold the client, and its Close, that long.
const maxHandshake = 5 * time.Second

// handshakeConn caps the first read deadline set on a connection (the
// library's wait for the session handshake's answer) at limit; later
// deadlines, the receive loop's, are the library's own.
type handshakeConn struct {
	net.Conn
	limit time.Duration
	once  sync.Once
}

func (c *handshakeConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() {
		c.once.Do(func() {
			if cap := time.Now().Add(c.limit); t.After(cap) {
				t = cap
			}
		})
	}
	return c.Conn.SetReadDeadline(t)
}

func (d *dialer) lastError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastErr
}

// backoff is the wait before attempt n (0 is the first).
func backoff(n int) time.Duration {
	if n == 0 {
		return 0
	}
	w := minBackoff
	for i := 1; i < n && w < maxBackoff; i++ {
		w *= 2
	}
	return min(w, maxBackoff)
}

// logAdapter sends the library's messages to slog at debug level. They
// name servers and errors, never credentials.
type logAdapter struct{ log *slog.Logger }

// Printf is zk.Logger's.
func (l logAdapter) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("zookeeper client: " + fmt.Sprintf(format, args...))
	}
}

// orDiscard returns l, or a logger that discards when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
