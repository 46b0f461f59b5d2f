package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

// Role says what a Member is.
type Role string

// The roles of simulated processes.
const (
	RoleMaster    Role = "master"
	RoleAgent     Role = "agent"
	RoleFramework Role = "framework"
)

// Member is what masters, agents and framework UIs share: a loopback port
// kept for the cluster's lifetime, the SSL settings it currently runs with,
// and the ability to be stopped (a dead process) and restarted on the same
// port with other settings while the rest of the cluster keeps running, as
// in a rolling upgrade.
type Member struct {
	c        *Cluster
	role     Role
	hostname string
	handler  http.Handler
	// onChange, if set, runs after every start and stop, with life held
	// but not mu.
	onChange func()

	// life serialises start, stop and restart.
	life sync.Mutex

	mu       sync.Mutex
	addr     string // "127.0.0.1:port", fixed by the first start
	settings tlsx.Settings
	run      *run // nil while stopped
	direct   []Request
}

// Request is a request that reached a member straight from a browser: no
// X-Forwarded-For header (a gateway sets one) and a browser's User-Agent
// (one starting "Mozilla/"). Probes and API clients are not browsers.
type Request struct {
	Time      time.Time
	Role      Role
	Member    string // the member's Addr
	Method    string
	URI       string // the request target: path and query
	UserAgent string
}

// maxDirect bounds each member's log of direct requests; older entries are
// dropped first.
const maxDirect = 10000

func newMember(c *Cluster, role Role, handler http.Handler) *Member {
	return &Member{c: c, role: role, hostname: c.hostname, handler: handler}
}

// Role returns what the member is.
func (m *Member) Role() Role { return m.role }

// Addr returns the member's listening address, "127.0.0.1:port". It stays
// the same across Stop and Restart.
func (m *Member) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addr
}

// Port returns the member's port.
func (m *Member) Port() int {
	_, port, _ := net.SplitHostPort(m.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// Hostname returns the name the member advertises (Options.Hostname,
// "localhost" by default); it resolves to loopback.
func (m *Member) Hostname() string { return m.hostname }

// HostPort returns "hostname:port", the form the stock WebUI builds links
// from ("//hostname:port/...").
func (m *Member) HostPort() string { return net.JoinHostPort(m.hostname, strconv.Itoa(m.Port())) }

// Settings returns the SSL settings the member runs (or last ran) with.
func (m *Member) Settings() tlsx.Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settings
}

// Mode returns the mode the member's settings amount to (see ModeOf).
func (m *Member) Mode() Mode { return ModeOf(m.Settings()) }

// URL returns "scheme://hostname:port" with the scheme the member speaks:
// https when it accepts TLS (a downgrade member answers http too).
func (m *Member) URL() string { return m.Mode().Scheme() + "://" + m.HostPort() }

// Running reports whether the member is serving (false after Stop).
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.run != nil
}

// Stop kills the member: its listener closes and every connection to it
// breaks, as when the process dies. The port is remembered for Restart;
// meanwhile nothing listens on it. Stopping a stopped member does nothing.
func (m *Member) Stop() error {
	m.life.Lock()
	defer m.life.Unlock()
	if !m.stop() {
		return nil
	}
	m.changed()
	return nil
}

// Restart stops the member (if running) and starts it again on the same
// port in mode.
func (m *Member) Restart(mode Mode) error {
	if err := mode.Valid(); err != nil {
		return err
	}
	return m.RestartWith(mode.Settings(m.c.pki))
}

// RestartWith stops the member (if running) and starts it again on the
// same port with settings, which may be anything tlsx accepts (other
// ciphers, versions, certificates).
func (m *Member) RestartWith(settings tlsx.Settings) error {
	m.life.Lock()
	defer m.life.Unlock()
	m.stop()
	err := m.start(settings)
	m.changed()
	return err
}

// DirectRequests returns the requests that reached this member straight
// from a browser (see Request), oldest first.
func (m *Member) DirectRequests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.direct...)
}

func (m *Member) changed() {
	if m.onChange != nil {
		m.onChange()
	}
}

// run is one life of a member: its listener and http.Server.
type run struct {
	srv    *http.Server
	tls    *tlsx.Context // nil for plain
	ownTLS bool          // the context was made for this run; close it after
	cancel context.CancelFunc
	served chan struct{}

	mu       sync.Mutex
	stopping bool
	handlers sync.WaitGroup
}

// start listens (on the remembered port after the first time) and serves.
// The caller holds m.life.
func (m *Member) start(settings tlsx.Settings) error {
	tctx, own, err := m.c.tlsContext(settings)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.role, err)
	}
	m.mu.Lock()
	addr := m.addr
	m.mu.Unlock()
	inner, err := m.c.listen(addr)
	if err != nil {
		if own {
			tctx.Close()
		}
		return fmt.Errorf("start %s: %w", m.role, err)
	}
	r := &run{tls: tctx, ownTLS: own, served: make(chan struct{})}
	base, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.srv = &http.Server{
		Handler:           r.track(m),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          m.c.errorLog,
		// libprocess speaks HTTP/1.1 only: never negotiate h2.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	var ln net.Listener = inner
	if tctx != nil {
		ln = silentTLS{tctx.NewListener(inner, tctx.ServerConfig())}
	}
	m.mu.Lock()
	m.addr = inner.Addr().String()
	m.settings = settings
	m.run = r
	m.mu.Unlock()
	go func() {
		defer close(r.served)
		r.srv.Serve(ln)
	}()
	return nil
}

// stop ends the current run, if any, and waits for its handlers to
// return. The caller holds m.life. It reports whether a run was stopped.
func (m *Member) stop() bool {
	m.mu.Lock()
	r := m.run
	m.run = nil
	m.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.cancel() // request contexts end: streams and long polls return
	r.srv.Close()
	<-r.served
	r.handlers.Wait()
	if r.ownTLS {
		r.tls.Close()
	}
	return true
}

// track counts the run's handlers, so stop can wait for them, and logs
// direct browser requests.
func (r *run) track(m *Member) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if r.stopping {
			r.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		r.handlers.Add(1)
		r.mu.Unlock()
		defer r.handlers.Done()
		if m.role != RoleFramework && req.Body != nil && req.Body != http.NoBody {
			// libprocess decodes a whole request, body included, before
			// it routes it (process/decoder.hpp): a master or agent
			// serves nothing of a request whose body has not all come,
			// and holds the connection while it comes.
			body, err := io.ReadAll(req.Body)
			if err != nil {
				panic(http.ErrAbortHandler) // the body broke off: dropped unserved
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		m.record(req)
		if observe := m.c.opts.Observe; observe != nil {
			observe(m, req)
		}
		m.handler.ServeHTTP(w, req)
	})
}

func (m *Member) record(req *http.Request) {
	if req.Header.Get("X-Forwarded-For") != "" || !strings.HasPrefix(req.UserAgent(), "Mozilla/") {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.direct) >= maxDirect {
		m.direct = append(m.direct[:0], m.direct[1:]...)
	}
	m.direct = append(m.direct, Request{
		Time:      time.Now(),
		Role:      m.role,
		Member:    m.addr,
		Method:    req.Method,
		URI:       req.RequestURI,
		UserAgent: req.UserAgent(),
	})
}

// silentTLS hides TLS connections from http.Server, which would otherwise
// answer a plain request on a TLS-only port with "HTTP/1.0 400 Bad
// Request ... HTTP request to an HTTPS server". A libprocess member fails
// the handshake and closes without an HTTP status line, and probers rely on
// that to tell ssl-only from ssl-downgrade. The handshake then happens on
// the connection's first read, under the server's read deadline.
type silentTLS struct{ net.Listener }

func (l silentTLS) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if tc, ok := conn.(*tls.Conn); ok {
		return hiddenTLS{tc}, nil
	}
	return conn, err
}

// hiddenTLS is a TLS connection that net/http does not recognise as one.
type hiddenTLS struct{ net.Conn }

// listen opens a loopback listener: on a new port when addr is empty, else
// on addr again. A port just closed may still be held for a moment by the
// kernel; binding is retried for a few seconds before giving up.
func (c *Cluster) listen(addr string) (net.Listener, error) {
	if addr == "" {
		return c.ports.listen()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("listen on %s again: %w (another process may have taken the port)", addr, err)
			}
			return ln, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The range new members' ports come from: below Linux's ephemeral range
// (32768-60999), so members do not compete with outgoing connections.
const (
	portFirst = 12000
	portLast  = 31999
)

// portAllocator hands out loopback ports in turn from a random point of
// the range, skipping ports in use. Asking the kernel for port 0 instead
// slows down sharply once a few thousand ports are bound (Linux searches
// its ephemeral range; 10,000 binds took 6 s against 0.3 s this way).
type portAllocator struct {
	mu   sync.Mutex
	next int
}

func (p *portAllocator) listen() (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := portLast - portFirst + 1
	if p.next == 0 {
		p.next = portFirst + mathrand.IntN(size)
	}
	for range size {
		port := p.next
		if p.next++; p.next > portLast {
			p.next = portFirst
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			return ln, err // a listener, or a reason to stop (out of files)
		}
	}
	// Every port of the range is taken: let the kernel choose.
	return net.Listen("tcp", "127.0.0.1:0")
}

// sortRequests orders requests by time.
func sortRequests(rs []Request) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Time.Before(rs[j].Time) })
}
