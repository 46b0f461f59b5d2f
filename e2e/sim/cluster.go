package sim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/webui"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// Options configure a simulated cluster. The zero value starts one plain
// master, no agents and the default frameworks.
type Options struct {
	// Masters is how many masters run; the first leads. Zero means
	// len(MasterModes), or 1 when that is empty too.
	Masters int
	// MasterModes gives each master its mode; a shorter list repeats its
	// last entry (see ModeAt). Nil means Plain.
	MasterModes []Mode
	// Agents is how many agents start with the cluster. Zero means
	// len(Modes) (so Modes alone says how many); more can be added with
	// AddAgent.
	Agents int
	// Modes gives each agent its mode, as MasterModes does for masters.
	Modes []Mode
	// Frameworks are the frameworks registered at start. Nil means
	// DefaultFrameworks(); an empty, non-nil slice means none. Agent i runs
	// one task of framework i modulo their number.
	Frameworks []FrameworkSpec

	// Hostname is the name every member advertises (in state, leader_info,
	// redirects and webui_url), and one the member certificate names.
	// Members listen on 127.0.0.1, so it must resolve there: "" means
	// "localhost"; "127.0.0.1" makes the WebUI's links use the IP.
	Hostname string
	// Name is the cluster's name ("cluster" in /master/state, shown by the
	// WebUI); "" means unnamed.
	Name string
	// WebUIDir, if set, is a Mesos WebUI directory (src/webui of a Mesos
	// source tree, any release from 0.23) the masters serve instead of the
	// simulator's own WebUI, at the paths that release's master uses:
	// "/" and "/static/..." up to Mesos 1.5, "/", "/app/..." and
	// "/assets/..." from 1.6 (see package webui).
	WebUIDir string
	// Dir holds the certificates, logs and sandboxes. "" means a new
	// temporary directory, removed by Close; a given directory is kept.
	Dir string
	// LargeFileSize is the size of the large file in every sandbox
	// ("large.bin"). Zero means 4 MiB. The file is written once and hard
	// linked into each sandbox, so its size costs disk space once.
	LargeFileSize int64
	// Auth, if set, makes every member demand these credentials with HTTP
	// basic authentication on the endpoints Mesos authenticates, answering
	// 401 with Mesos's realms. Nil means no authentication.
	Auth *Credentials
	// HeartbeatInterval is how often a SUBSCRIBE stream gets a HEARTBEAT.
	// Zero means 15 seconds, Mesos's default.
	HeartbeatInterval time.Duration
	// PKI supplies the CA and certificates. Nil means a new one under Dir
	// (making RSA keys takes a moment: share one PKI between clusters when
	// starting many).
	PKI *PKI
	// CA, when PKI is nil, signs the new PKI's certificates (demo passes
	// the gateway's internal CA, so one file to trust covers everything).
	// Nil means a CA of the cluster's own.
	CA *tlsx.CA
	// ZK, if set, is a zk:// URL (zk://127.0.0.1:2181/mesos): each master
	// then registers in that ZooKeeper group as a Mesos master does, an
	// ephemeral sequential json.info_ znode holding its MasterInfo, and
	// the cluster's leader is whoever ZooKeeper elects (the lowest
	// sequence): the first master at start, the next one when the
	// leader's session ends (Master.EndSession) or it stops. "" means no
	// ZooKeeper: the first master leads until SetLeader.
	ZK string
	// ZKProtobuf makes the masters write info_ znodes holding MasterInfo
	// as a serialized protobuf, as Mesos 0.23 masters do, instead of JSON.
	ZKProtobuf bool
	// Logger receives the members' errors (TLS handshake failures and the
	// like) at debug level and the cluster's own events. Nil discards.
	Logger *slog.Logger
	// Observe, if set, sees every request a member (master, agent or
	// framework UI) receives, before the member serves it: a gateway's
	// tests check from the members' side what reached them (which
	// Authorization, which cookies). It runs on the request's goroutine
	// and must neither change r nor keep it. Nil observes nothing.
	Observe func(m *Member, r *http.Request)
}

// DefaultFrameworks is the set Options.Frameworks nil stands for: two
// frameworks with a UI at the root of their webui_url, one whose UI lives
// under a path, and one that registered no webui_url.
func DefaultFrameworks() []FrameworkSpec {
	return []FrameworkSpec{
		{Name: "marathon"},
		{Name: "chronos"},
		{Name: "jenkins", UIPath: "/jenkins/"},
		{Name: "batch", NoUI: true},
	}
}

// Cluster is a running simulated Mesos cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	opts     Options
	log      *slog.Logger
	errorLog *log.Logger
	dir      string
	ownDir   bool
	pki      *PKI
	hostname string
	started  time.Time
	masterID string // the first master's id: agent and framework ids derive from it
	webui    *webui.Tree
	shared   sharedFiles
	names    idNames
	ports    portAllocator

	// answeringStandbys makes standbys answer /master/state and the
	// other leader endpoints with their own view (no agents, no
	// frameworks, leader_info naming the leader) instead of a 307: so did
	// masters before Mesos 1.0 (master/http.cpp), and the WebUI of those
	// releases reads it to say "not the leader" and move to
	// /master/redirect. Set for a WebUI of Mesos 0.23 to 0.28.
	answeringStandbys bool

	tlsMu   sync.Mutex
	tlsCtxs map[tlsx.Settings]*tlsx.Context

	// mu guards everything below and the model inside agents and
	// frameworks (their executors, removed flags).
	mu         sync.RWMutex
	masters    []*Master
	leader     *Master
	electedAt  time.Time
	agents     []*Agent
	frameworks []*Framework
	nextAgent  int
	nextFW     int
	subs       map[*subscriber]bool
	closed     bool

	zk *zkGroup // nil without Options.ZK
}

// Start starts a cluster: its masters, agents and framework UIs, each on
// its own loopback port. Close stops it.
func Start(opts Options) (c *Cluster, err error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c = &Cluster{
		opts:     opts,
		log:      opts.Logger,
		hostname: opts.Hostname,
		started:  time.Now(),
		tlsCtxs:  map[tlsx.Settings]*tlsx.Context{},
		subs:     map[*subscriber]bool{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.errorLog = slog.NewLogLogger(c.log.Handler(), slog.LevelDebug)
	if c.hostname == "" {
		c.hostname = "localhost"
	}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	if err := c.setupDir(); err != nil {
		return c, err
	}
	if c.pki = opts.PKI; c.pki == nil && opts.CA != nil {
		c.pki, err = NewPKIWithCA(opts.CA, filepath.Join(c.dir, "pki"), c.hostname)
	} else if c.pki == nil {
		c.pki, err = NewPKI(filepath.Join(c.dir, "pki"), c.hostname)
	}
	if err != nil {
		return c, err
	}
	c.shared = sharedFiles{dir: filepath.Join(c.dir, "shared"), largeSize: opts.LargeFileSize}
	if c.webui, err = openWebUI(opts.WebUIDir); err != nil {
		return c, err
	}
	if opts.ZK != "" {
		if c.zk, err = newZKGroup(opts); err != nil {
			return c, err
		}
		c.startZK()
	}
	c.answeringStandbys = beforeMesos1(c.webui)
	if err := c.startMasters(); err != nil {
		return c, err
	}
	if err := c.startFrameworks(); err != nil {
		return c, err
	}
	if err := c.startAgents(); err != nil {
		return c, err
	}
	c.log.Info("simulated cluster started", "masters", len(c.masters), "agents", len(c.agents), "frameworks", len(c.frameworks), "dir", c.dir)
	return c, nil
}

func (o *Options) validate() error {
	var errs []error
	for _, m := range append(append([]Mode(nil), o.MasterModes...), o.Modes...) {
		if err := m.Valid(); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Masters < 0 || o.Agents < 0 || o.LargeFileSize < 0 || o.HeartbeatInterval < 0 {
		errs = append(errs, errors.New("counts, sizes and intervals must not be negative"))
	}
	if err := checkHostname(o.Hostname); err != nil {
		errs = append(errs, err)
	}
	if o.ZK != "" {
		if _, err := zookeeper.ParseURL(o.ZK); err != nil {
			errs = append(errs, err)
		}
	}
	if o.WebUIDir != "" {
		if _, err := webui.Open(o.WebUIDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkHostname makes sure members are reachable by their advertised
// name: they listen on 127.0.0.1.
func checkHostname(name string) error {
	if name == "" || name == "localhost" || name == "127.0.0.1" {
		return nil
	}
	addrs, err := net.LookupHost(name)
	if err != nil {
		return fmt.Errorf("hostname %q does not resolve (%v): use localhost, 127.0.0.1 or a name that resolves to 127.0.0.1", name, err)
	}
	for _, a := range addrs {
		if a == "127.0.0.1" {
			return nil
		}
	}
	return fmt.Errorf("hostname %q resolves to %v, but members listen on 127.0.0.1: use localhost, 127.0.0.1 or a name that resolves there", name, addrs)
}

func (c *Cluster) setupDir() error {
	dir := c.opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mesosgate-sim-")
		if err != nil {
			return fmt.Errorf("create the cluster directory: %w", err)
		}
		dir, c.ownDir = tmp, true
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the cluster directory: %w", err)
	}
	// Members report and compare canonical paths (Mesos attaches
	// realpath()s), so the directory is resolved once here.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolve the cluster directory: %w", err)
	}
	abs, err := filepath.Abs(real)
	if err != nil {
		return fmt.Errorf("resolve the cluster directory: %w", err)
	}
	c.dir = abs
	return nil
}

func (c *Cluster) startMasters() error {
	n := c.opts.Masters
	if n == 0 {
		n = max(1, len(c.opts.MasterModes))
	}
	for i := range n {
		m, err := newMaster(c, i)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.masters = append(c.masters, m)
		c.mu.Unlock()
		if err := m.RestartWith(ModeAt(c.opts.MasterModes, i).Settings(c.pki)); err != nil {
			return err
		}
		if c.zk != nil && m.membership() == nil {
			return fmt.Errorf("master %s could not join the ZooKeeper group %s (see the log)", m.Addr(), c.zk.url)
		}
	}
	c.mu.Lock()
	c.masterID = c.masters[0].id
	c.mu.Unlock()
	if c.zk != nil {
		// The first to join leads, unless a stale master of another
		// run still does: wait for ZooKeeper to say so.
		return c.awaitLeader(c.masters[0])
	}
	c.mu.Lock()
	c.leader, c.electedAt = c.masters[0], time.Now()
	c.mu.Unlock()
	return nil
}

func (c *Cluster) startFrameworks() error {
	specs := c.opts.Frameworks
	if specs == nil {
		specs = DefaultFrameworks()
	}
	for _, spec := range specs {
		if _, err := c.AddFramework(spec); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) startAgents() error {
	n := c.opts.Agents
	if n == 0 {
		n = len(c.opts.Modes)
	}
	for i := range n {
		if _, err := c.addAgent(ModeAt(c.opts.Modes, i)); err != nil {
			return err
		}
	}
	// Each framework also has a finished task, so the WebUI's completed
	// tables have something to show.
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.agents) == 0 {
		return nil
	}
	for j, f := range c.frameworks {
		a := c.agents[j%len(c.agents)]
		a.completed = append(a.completed, newExecutor(a, f, "TASK_FINISHED"))
	}
	return nil
}

// Close stops every member and framework UI, ends every SUBSCRIBE stream,
// and removes the cluster's directory when Start made it.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	zk := c.zk
	members := c.membersLocked()
	for s := range c.subs {
		s.end()
	}
	c.subs = map[*subscriber]bool{}
	c.mu.Unlock()

	if zk != nil {
		c.closeZK()
	}
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() { m.Stop() })
	}
	wg.Wait()
	c.tlsMu.Lock()
	for _, ctx := range c.tlsCtxs {
		ctx.Close()
	}
	c.tlsCtxs = map[tlsx.Settings]*tlsx.Context{}
	c.tlsMu.Unlock()
	if c.ownDir {
		if err := os.RemoveAll(c.dir); err != nil {
			return fmt.Errorf("remove the cluster directory: %w", err)
		}
	}
	return nil
}

// membersLocked lists every member and framework UI. c.mu is held.
func (c *Cluster) membersLocked() []*Member {
	var out []*Member
	for _, m := range c.masters {
		out = append(out, m.Member)
	}
	for _, a := range c.agents {
		out = append(out, a.Member)
	}
	for _, f := range c.frameworks {
		if f.ui != nil {
			out = append(out, f.ui)
		}
	}
	return out
}

// Dir returns the directory holding the cluster's files.
func (c *Cluster) Dir() string { return c.dir }

// PKI returns the cluster's certificates.
func (c *Cluster) PKI() *PKI { return c.pki }

// CA returns the CA that signed the members' and the client certificate.
func (c *Cluster) CA() *tlsx.CA { return c.pki.CA }

// CAFile returns the CA certificate's PEM file: what a client trusts.
func (c *Cluster) CAFile() string { return c.pki.CAFile }

// ClientCertFiles returns the client certificate and key files that
// ssl-clientcert members accept (see PKI.ClientCertFile).
func (c *Cluster) ClientCertFiles() (certFile, keyFile string) {
	return c.pki.ClientCertFile, c.pki.ClientKeyFile
}

// Settings returns the SSL settings of mode with the cluster's certificate
// files, for RestartWith after changing a field.
func (c *Cluster) Settings(mode Mode) tlsx.Settings { return mode.Settings(c.pki) }

// Masters returns the masters in the order they started.
func (c *Cluster) Masters() []*Master {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*Master(nil), c.masters...)
}

// Leader returns the leading master, or nil when none is elected.
func (c *Cluster) Leader() *Master {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.leader
}

// SetLeader makes m the leading master, or leaves the cluster without a
// leader when m is nil (standbys then answer 503 "No leader elected").
// SUBSCRIBE streams on the previous leader end, as they do when a Mesos
// master loses leadership and exits. A stopped master may be made leader;
// nothing elects another on its own.
//
// With Options.ZK the change goes through ZooKeeper, as it would in Mesos:
// the masters ahead of m end their sessions and join again behind it (nil:
// every master leaves the group), and SetLeader returns once the cluster
// follows.
func (c *Cluster) SetLeader(m *Master) {
	if c.zk != nil {
		c.zkSetLeader(m)
		return
	}
	c.setLeader(m)
}

// setLeader records m as the leader and ends the SUBSCRIBE streams.
func (c *Cluster) setLeader(m *Master) {
	c.mu.Lock()
	if c.leader == m {
		c.mu.Unlock()
		return
	}
	c.leader, c.electedAt = m, time.Now()
	for s := range c.subs {
		s.end()
	}
	c.subs = map[*subscriber]bool{}
	c.mu.Unlock()
	name := "none"
	if m != nil {
		name = m.Addr()
	}
	c.log.Info("leader changed", "leader", name)
}

// Agents returns the registered agents in the order they were added.
func (c *Cluster) Agents() []*Agent {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*Agent(nil), c.agents...)
}

// Agent returns the registered agent with the id, or nil.
func (c *Cluster) Agent(id string) *Agent {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, a := range c.agents {
		if a.id == id {
			return a
		}
	}
	return nil
}

// AddAgent starts a new agent in mode and registers it with the masters:
// it runs one task (of the frameworks in turn) and SUBSCRIBE streams get
// AGENT_ADDED.
func (c *Cluster) AddAgent(mode Mode) (*Agent, error) {
	if err := mode.Valid(); err != nil {
		return nil, err
	}
	return c.addAgent(mode)
}

// RemoveAgent stops the agent with the id and removes it from the masters'
// state: its tasks disappear and SUBSCRIBE streams get AGENT_REMOVED.
func (c *Cluster) RemoveAgent(id string) error {
	c.mu.Lock()
	var a *Agent
	for i, x := range c.agents {
		if x.id == id {
			a = x
			c.agents = append(c.agents[:i:i], c.agents[i+1:]...)
			break
		}
	}
	if a == nil {
		c.mu.Unlock()
		return fmt.Errorf("remove agent %s: no such agent", id)
	}
	c.publishLocked(agentRemovedEvent(a))
	c.mu.Unlock()
	return a.Stop()
}

// Frameworks returns the registered frameworks (not removed ones) in the
// order they registered.
func (c *Cluster) Frameworks() []*Framework {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Framework
	for _, f := range c.frameworks {
		if !f.removed {
			out = append(out, f)
		}
	}
	return out
}

// DirectRequests returns every request that reached any member or
// framework UI straight from a browser (see Request), ordered by time.
// Browser tests of the gateway assert it stays empty.
func (c *Cluster) DirectRequests() []Request {
	c.mu.RLock()
	members := c.membersLocked()
	c.mu.RUnlock()
	var out []Request
	for _, m := range members {
		out = append(out, m.DirectRequests()...)
	}
	sortRequests(out)
	return out
}

// tlsContext returns the tlsx context for settings, nil for plain. The
// settings of the four modes share one context each, made once (their
// skipped-cipher warning is expected and not logged); other settings get
// a context of their own, which the caller closes (own is true).
func (c *Cluster) tlsContext(s tlsx.Settings) (ctx *tlsx.Context, own bool, err error) {
	if !s.Enabled.Or(false) {
		return nil, false, nil
	}
	shared := false
	for _, m := range AllModes() {
		shared = shared || m.Settings(c.pki) == s
	}
	if !shared {
		ctx, err := tlsx.NewContext(s, tlsx.Options{Logger: c.log})
		return ctx, true, err
	}
	c.tlsMu.Lock()
	defer c.tlsMu.Unlock()
	if ctx := c.tlsCtxs[s]; ctx != nil {
		return ctx, false, nil
	}
	ctx, err = tlsx.NewContext(s, tlsx.Options{ReloadInterval: -1})
	if err != nil {
		return nil, false, err
	}
	c.tlsCtxs[s] = ctx
	return ctx, false, nil
}

// newUUID returns a random version 4 UUID, the form of Mesos's ids.
func newUUID() string {
	var b [16]byte
	io.ReadFull(rand.Reader, b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// secs returns t as seconds since the epoch, the unit of Mesos's *_time
// fields.
func secs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// errClosed is returned by changes to a closed cluster.
var errClosed = errors.New("the simulated cluster is closed")
