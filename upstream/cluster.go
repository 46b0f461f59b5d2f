package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

// Cluster is the gateway's live knowledge of one Mesos cluster. Its methods
// are safe for concurrent use.
type Cluster struct {
	cfg       Config
	tls       *tlsx.Context
	ownTLS    bool
	log       *slog.Logger
	transport *http.Transport
	// conns carries members' GET and HEAD requests in the caller's
	// goroutine, the rest through transport (conns.go).
	conns *memberConns
	// probeCurves are the key exchange groups a probe offers when
	// ECDH_CURVES is auto (see probeTLS).
	probeCurves []tls.CurveID
	// shortHello: a TLS 1.2 ClientHello is shorter than the gateway's
	// full one (see expectation).
	shortHello bool
	// suiteNames names the cipher suites crypto/tls knows
	// (tls.CipherSuiteName makes both its lists on every call).
	suiteNames map[uint16]string
	// probeDial is Config.Dial, or without one a dialer without TCP
	// keep-alive: a probe's connection lives for one exchange, keep-alive
	// would only cost its setsockopt calls.
	probeDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// verified caches chain verifications (verifycache.go);
	// verifications counts those actually made.
	verified      verifyCache
	verifications atomic.Uint64
	// stats count retries and sweeps for Stats (stats.go).
	stats stats
	// policy limits where the cluster connects (policy.go); inFlight how
	// many requests go to one address at once (inflight.go).
	policy   *policy
	inFlight *inFlight

	probeSeq atomic.Uint64 // numbers probes in the order they start
	seq      atomic.Uint64 // bumped by every change: the snapshot is rebuilt
	gen      atomic.Uint64 // bumped by changes a gateway maps (Snapshot.Generation)
	running  atomic.Bool
	found    atomic.Bool // a discovery has succeeded: Resolve's fast path

	// mu guards the cluster map below and members' refs.
	mu         sync.RWMutex
	masters    []*masterState // the configured masters, or ZooKeeper's, in order
	leader     *masterState   // nil when none is known
	leaderCh   chan struct{}  // closed when the leader changes, then replaced
	agents     map[string]*agentState
	frameworks map[string]*Framework
	members    map[memberKey]*member
	updated    time.Time // when the masters last confirmed the map
	discovered bool      // a discovery has succeeded
	lastErr    error     // the latest discovery's error; nil after a success
	pending    []*member // members awaiting their first probe
	stream     streamState
	zk         zkState // discovery through ZooKeeper (zookeeper.go)

	ready      chan struct{} // closed when the first discovery finished
	readyOnce  sync.Once
	wake       chan struct{} // the probe loop has pending members
	refreshNow chan struct{} // the discovery loop should refresh at once

	snapMu  sync.Mutex
	snap    *Snapshot
	snapSeq uint64
}

// masterState is a master the gateway knows: a configured one or a member
// of the ZooKeeper group, or the leader a configured master named.
type masterState struct {
	m *member
	// configured is whether the master is known for itself (given with
	// --master, or a member of the ZooKeeper group) rather than through
	// a redirect: such a master is reached by its prefix whatever the
	// map's age.
	configured bool
	scheme     string // as configured; a hint only
	id         string // MasterInfo.id, once the master has led
	hostname   string // as the master reports itself, else its address's host
	// aliases are the host:port forms that name it (lower-case): its
	// address, hostname:port from leader_info, the pid's ip:port.
	aliases []string
}

// agentState is an agent as the leader reported it.
type agentState struct {
	id, hostname, pid string
	active            bool
	m                 *member
}

// memberKey identifies a member: where the gateway connects and the name it
// validates. An agent that re-registers with a new id at the same address
// keeps its member, and its probe.
type memberKey struct{ addr, hostname string }

// member is a master or agent the gateway connects to, with its latest
// probe.
type member struct {
	addr     string     // host:port dialled; an agent's pid ip:port
	hostname string     // SNI and certificate validation
	ip       netip.Addr // the pid's IP, or the address's when it is one
	host     string     // hostname:port, the Host header of requests
	request  []byte     // the probe request
	master   bool       // a master's, not an agent's

	probe atomic.Pointer[Probe]
	// seen is the IP the member was last reached at (a master configured
	// by name), nil before: the address policy knows members by it.
	seen atomic.Pointer[netip.Addr]
	// downSince is when probes began to find the member unreachable
	// (UnixNano); meaningless while it is reachable (transport.go).
	downSince atomic.Int64
	// session is the TLS session the next probe resumes; notTLS is
	// whether the last probe's ClientHello got an answer that is not TLS
	// (session.go).
	session atomic.Pointer[probeSession]
	notTLS  atomic.Bool
	mu      sync.Mutex
	flight  *flight
	refs    int // guarded by Cluster.mu
}

// flight is a probe under way, which others wait for instead of probing
// again.
type flight struct {
	seq  uint64
	done chan struct{}
	p    *Probe
}

// New checks cfg and returns a Cluster that knows its configured masters.
// Nothing is contacted until Run, Refresh or ProbeAll.
func New(cfg Config) (*Cluster, error) {
	probeDial := cfg.Dial
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if probeDial == nil {
		probeDial = (&net.Dialer{Timeout: cfg.ProbeTimeout, KeepAlive: -1}).DialContext
	}
	pl, err := newPolicy(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("upstream configuration: %w", err)
	}
	c := &Cluster{
		probeDial:   probeDial,
		policy:      pl,
		inFlight:    newInFlight(cfg.MaxInFlight),
		cfg:         cfg,
		tls:         cfg.TLS,
		log:         cfg.Logger,
		leaderCh:    make(chan struct{}),
		agents:      map[string]*agentState{},
		frameworks:  map[string]*Framework{},
		members:     map[memberKey]*member{},
		ready:       make(chan struct{}),
		wake:        make(chan struct{}, 1),
		refreshNow:  make(chan struct{}, 1),
		probeCurves: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
	}
	if c.tls == nil {
		if c.tls, err = tlsx.NewContext(tlsx.Settings{}, tlsx.Options{Logger: c.log, ReloadInterval: -1}); err != nil {
			return nil, fmt.Errorf("upstream: default TLS context: %w", err)
		}
		c.ownTLS = true
	}
	c.shortHello = allowsShortHello(c.tls.ClientConfig("", netip.Addr{}))
	c.suiteNames = map[uint16]string{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		c.suiteNames[s.ID] = s.Name
	}
	c.transport = c.newTransport()
	c.conns = c.newMemberConns(c.transport)
	c.mu.Lock()
	for _, cm := range cfg.Masters {
		ms := c.newMasterLocked(cm.Address, "", netip.Addr{})
		ms.configured, ms.scheme = true, cm.Scheme
		c.masters = append(c.masters, ms)
	}
	c.mu.Unlock()
	return c, nil
}

// Close releases idle connections (and the TLS context New made when
// Config.TLS was nil). Call it after Run has returned.
func (c *Cluster) Close() error {
	c.conns.CloseIdleConnections() // the Transport's too
	if c.ownTLS {
		return c.tls.Close()
	}
	return nil
}

// Run discovers and probes until ctx ends: the names of masters configured
// by IP looked up once (nameMasters), a discovery at once and every Refresh
// (sooner after a failed request to the leader or the end of a SUBSCRIBE
// stream), with ZooKeeper a watch of the masters' group (a discovery as
// soon as the group changes), the SUBSCRIBE stream while the leader offers
// it, a probe of every new member at once and of every member every
// ProbeInterval. It returns nil when ctx ends; Run may run once.
func (c *Cluster) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("upstream: Run called twice")
	}
	var wg sync.WaitGroup
	if c.cfg.ZooKeeper != nil {
		wg.Go(func() { c.watchGroup(ctx) })
	}
	wg.Go(func() { c.nameMasters(ctx) })
	wg.Go(func() { c.discoverLoop(ctx) })
	wg.Go(func() { c.probeLoop(ctx) })
	if !c.cfg.NoSubscribe {
		wg.Go(func() { c.subscribeLoop(ctx) })
	}
	wg.Wait()
	return nil
}

// Wait blocks until the first discovery has finished, so the first request
// after start waits for it instead of failing. It returns nil once there is
// a cluster map (even one without a leader), the first discovery's error
// while there is none, or ctx's error.
func (c *Cluster) Wait(ctx context.Context) error {
	select {
	case <-c.ready:
	case <-ctx.Done():
		if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
			return &Error{Reason: ReasonNotReady, Detail: "the first discovery has not finished", Err: err}
		}
		return ctx.Err()
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.discovered {
		return nil
	}
	return c.notReadyLocked()
}

// markReady records the end of a discovery for Wait.
func (c *Cluster) markReady() { c.readyOnce.Do(func() { close(c.ready) }) }

// changed records a change: the snapshot is rebuilt, and when mapped is
// true the generation moves.
func (c *Cluster) changed(mapped bool) {
	if mapped {
		c.gen.Add(1)
	}
	c.seq.Add(1)
}

// signal wakes a loop without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// newMasterLocked makes the state of a master at addr named hostname
// ("" means the address's host) whose IP, when known, is ip. c.mu is
// held.
func (c *Cluster) newMasterLocked(addr, hostname string, ip netip.Addr) *masterState {
	if hostname == "" {
		hostname, _, _ = net.SplitHostPort(addr)
	}
	ms := &masterState{m: c.memberLocked(addr, hostname, ip), hostname: hostname}
	ms.m.master = true
	ms.addAlias(addr)
	return ms
}

func (ms *masterState) addAlias(hostPort string) {
	a := strings.ToLower(hostPort)
	for _, have := range ms.aliases {
		if have == a {
			return
		}
	}
	ms.aliases = append(ms.aliases, a)
}

func (ms *masterState) named(hostPort string) bool {
	a := strings.ToLower(hostPort)
	for _, have := range ms.aliases {
		if have == a {
			return true
		}
	}
	return false
}

// memberLocked returns the member at addr named hostname, making it if
// needed, and counts a reference to it. c.mu is held for writing.
func (c *Cluster) memberLocked(addr, hostname string, ip netip.Addr) *member {
	key := memberKey{addr, hostname}
	if m := c.members[key]; m != nil {
		m.refs++
		return m
	}
	if !ip.IsValid() {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			ip, _ = netip.ParseAddr(host)
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	m := &member{addr: addr, hostname: hostname, ip: ip.Unmap(), host: net.JoinHostPort(hostname, port), refs: 1}
	if hostname == "" {
		m.host = addr
	}
	m.request = fmt.Appendf(nil, probeRequest, m.host)
	c.members[key] = m
	c.pending = append(c.pending, m)
	signal(c.wake)
	return m
}

// releaseLocked drops a reference to a member, forgetting it with the
// last one. c.mu is held for writing.
func (c *Cluster) releaseLocked(m *member) {
	if m.refs--; m.refs <= 0 {
		delete(c.members, memberKey{m.addr, m.hostname})
	}
}

// agentAddress returns where to connect to an agent: its pid's ip:port
// ("slave(1)@10.0.0.5:5051"), or hostname:port when the pid says nothing
// usable.
func agentAddress(pid, hostname string, port int) (string, netip.Addr, bool) {
	if _, after, ok := strings.Cut(pid, "@"); ok {
		if ap, err := netip.ParseAddrPort(after); err == nil && ap.Port() != 0 {
			return ap.String(), ap.Addr().Unmap(), true
		}
	}
	if hostname != "" && port > 0 && port < 65536 {
		return net.JoinHostPort(hostname, strconv.Itoa(port)), netip.Addr{}, true
	}
	return "", netip.Addr{}, false
}
