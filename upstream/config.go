package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// Defaults for Config's zero fields; they match config's Default* values.
const (
	DefaultRefresh            = 10 * time.Second
	DefaultProbeInterval      = 30 * time.Second
	DefaultProbeTimeout       = 5 * time.Second
	DefaultProbeConcurrency   = 256
	DefaultProbeFullHandshake = 10 * time.Minute
	DefaultStaleSoftLimit     = time.Minute
	DefaultStaleHardLimit     = 10 * time.Minute
	DefaultDiscoveryWait      = 30 * time.Second
	DefaultMaxInFlight        = 256
	DefaultBusyWait           = 2 * time.Second
)

// Master is a configured master (--master).
type Master struct {
	// Scheme is "http" or "https" as the operator wrote it, or "" for a
	// bare host:port. It is a hint, not a rule: requests follow the probe
	// like any member's, and a master that does not speak the scheme it was
	// given gets a warning in the report.
	Scheme string
	// Address is host:port: a DNS name or an IP address, and a port.
	Address string
}

// TLSPolicy is --upstream-tls: whether members that speak only plain HTTP
// are reached.
type TLSPolicy string

const (
	// TLSAuto (also "") uses TLS with members that speak it and plain HTTP
	// with the others.
	TLSAuto TLSPolicy = "auto"
	// TLSRequired refuses members that speak only plain HTTP, as a
	// libprocess client without downgrade would.
	TLSRequired TLSPolicy = "required"
)

// Credentials are the principal and secret the gateway's own requests to
// masters (discovery, SUBSCRIBE) authenticate with, for masters started with
// --authenticate_http_readonly. They go to masters only: to configured
// masters and to the leader a configured master redirects to, never to
// agents, and never on proxied requests, which carry the browser's
// Authorization unchanged. String, GoString and LogValue hide the secret.
type Credentials struct {
	Principal string
	Secret    string
}

// String names the principal and hides the secret.
func (c Credentials) String() string { return c.Principal + " (secret hidden)" }

// GoString hides the secret from %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("upstream.Credentials{Principal: %q, Secret: (hidden)}", c.Principal)
}

// LogValue hides the secret from slog.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Config configures a Cluster. Only Masters is required; every other zero
// field means the default its comment names.
type Config struct {
	// Masters are the configured masters, in the order they are asked.
	// At least one, unless ZooKeeper is set.
	Masters []Master
	// ZooKeeper, if set, is the ZooKeeper group the masters join
	// (zk://zk1:2181/mesos): the masters are its members, standbys
	// included, the leader is the one ZooKeeper elects (the lowest
	// sequence), and both are followed through a watch as they change.
	// Masters must then be empty. Nil means the masters are Masters.
	ZooKeeper *zookeeper.URL
	// TLS is the connecting side's TLS context (tlsx.Context.ClientConfig:
	// SNI, libprocess verification, the suites stock members need, the
	// client certificate). Nil means libprocess's defaults: TLS 1.2, no
	// verification, no client certificate. The Cluster does not close it.
	TLS *tlsx.Context
	// UpstreamTLS is --upstream-tls; "" means TLSAuto.
	UpstreamTLS TLSPolicy

	// Refresh is how often the masters' state is polled, and, without
	// ZooKeeper, how soon a leader change is noticed (ZooKeeper tells of
	// one at once); zero means DefaultRefresh.
	Refresh time.Duration
	// ProbeInterval is how often every member is probed (jittered by up
	// to a tenth either way); zero means DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe of one member (connects, handshake,
	// plain request) and each connection attempt of a proxied request;
	// zero means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// ProbeConcurrency is how many members a sweep probes at once; zero
	// means DefaultProbeConcurrency.
	ProbeConcurrency int
	// ProbeFullHandshake bounds how long probes of a member resume the TLS
	// session of an earlier probe (a cheap handshake that shows the
	// certificate of the session) before making a full handshake again:
	// a member that changes its certificate without a restart is seen
	// with the new one within this time (a restarted member at once).
	// Zero means DefaultProbeFullHandshake; negative makes every probe a
	// full handshake.
	ProbeFullHandshake time.Duration
	// StaleSoftLimit is the age of the cluster map past which it is served
	// with a warning (Snapshot.Stale); zero means DefaultStaleSoftLimit.
	StaleSoftLimit time.Duration
	// StaleHardLimit is the age past which Resolve answers ReasonStale;
	// zero means DefaultStaleHardLimit.
	StaleHardLimit time.Duration
	// DiscoveryWait bounds how long Resolve waits for the first discovery
	// (a request arriving just after start waits instead of failing);
	// zero means DefaultDiscoveryWait.
	DiscoveryWait time.Duration

	// MaxInFlight bounds the requests in flight through the gateway to
	// one member or framework UI (each holds a connection); zero means
	// DefaultMaxInFlight. Beyond it a request waits up to BusyWait (zero:
	// DefaultBusyWait) for one to end, then fails with ReasonBusy.
	MaxInFlight int
	BusyWait    time.Duration

	// ServiceDomain, if set, gives every framework UI an origin of its own,
	// <label>.<ServiceDomain> (Snapshot's Framework.Host, HostRoute);
	// "" serves them under /service/ only.
	ServiceDomain string

	// Policy limits where the gateway connects; its zero value forbids
	// link-local and metadata addresses, and framework UIs off the
	// members' hosts. Call Cluster.Exclude with the gateway's listening
	// address.
	Policy Policy

	// Credentials, if set, authenticate discovery with masters that
	// require HTTP authentication. Nil sends none.
	Credentials *Credentials
	// NoSubscribe turns the v1 SUBSCRIBE stream off: the state is then
	// only polled. False follows the stream where the leader offers it.
	NoSubscribe bool

	// Logger receives discovery warnings and probe changes. Nil discards.
	Logger *slog.Logger
	// Now returns the current time, for ages, staleness and certificate
	// expiry. Nil means time.Now.
	Now func() time.Time
	// Dial opens TCP connections to masters, agents and framework UIs.
	// Nil means a net.Dialer bounded by ProbeTimeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDefaults returns the configuration with every zero field set, or
// every problem at once.
func (cfg Config) withDefaults() (Config, error) {
	errs := checkMasters(cfg.Masters, cfg.ZooKeeper)
	switch cfg.UpstreamTLS {
	case "":
		cfg.UpstreamTLS = TLSAuto
	case TLSAuto, TLSRequired:
	default:
		errs = append(errs, fmt.Errorf("upstream TLS policy %q is not auto or required", cfg.UpstreamTLS))
	}
	setDuration(&cfg.Refresh, DefaultRefresh)
	setDuration(&cfg.ProbeInterval, DefaultProbeInterval)
	setDuration(&cfg.ProbeTimeout, DefaultProbeTimeout)
	setDuration(&cfg.ProbeFullHandshake, DefaultProbeFullHandshake)
	setDuration(&cfg.StaleSoftLimit, DefaultStaleSoftLimit)
	setDuration(&cfg.StaleHardLimit, DefaultStaleHardLimit)
	setDuration(&cfg.DiscoveryWait, DefaultDiscoveryWait)
	setDuration(&cfg.BusyWait, DefaultBusyWait)
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.ProbeConcurrency <= 0 {
		cfg.ProbeConcurrency = DefaultProbeConcurrency
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"refresh", cfg.Refresh}, {"probe interval", cfg.ProbeInterval}, {"probe timeout", cfg.ProbeTimeout},
		{"stale soft limit", cfg.StaleSoftLimit}, {"stale hard limit", cfg.StaleHardLimit}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("the %s %s is negative", d.name, d.d))
		}
	}
	if cfg.StaleHardLimit < cfg.StaleSoftLimit {
		errs = append(errs, fmt.Errorf("the stale hard limit %s is shorter than the soft limit %s", cfg.StaleHardLimit, cfg.StaleSoftLimit))
	}
	if cfg.Credentials != nil && (cfg.Credentials.Principal == "" || strings.ContainsAny(cfg.Credentials.Principal, ":\r\n")) {
		errs = append(errs, errors.New("the credentials' principal is empty or holds a colon or line break"))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dial == nil {
		d := &net.Dialer{Timeout: cfg.ProbeTimeout, KeepAlive: 30 * time.Second}
		cfg.Dial = d.DialContext
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("upstream configuration: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// checkMasters reports every problem of the configured masters.
func checkMasters(masters []Master, zk *zookeeper.URL) []error {
	var errs []error
	switch {
	case zk != nil && len(masters) > 0:
		errs = append(errs, errors.New("masters given both as addresses and as a ZooKeeper group: give one or the other"))
	case zk != nil && len(zk.Servers) == 0:
		errs = append(errs, fmt.Errorf("the ZooKeeper URL names no server: write it as %s", zookeeper.Example))
	case zk == nil && len(masters) == 0:
		errs = append(errs, errors.New("no master configured: give at least one --master"))
	}
	seen := map[string]bool{}
	for _, m := range masters {
		host, port, err := net.SplitHostPort(m.Address)
		if err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("master %q is not host:port; write it like master1:5050", m.Address))
		}
		if m.Scheme != "" && m.Scheme != "http" && m.Scheme != "https" {
			errs = append(errs, fmt.Errorf("master %s: scheme %q is not http or https", m.Address, m.Scheme))
		}
		if key := strings.ToLower(m.Address); seen[key] {
			errs = append(errs, fmt.Errorf("master %s is given twice; give each master once", m.Address))
		} else {
			seen[key] = true
		}
	}
	return errs
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}
