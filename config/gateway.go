package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// Defaults of the gateway's settings, for a Gateway made without Load:
// each field's zero value means the default named in its comment.
const (
	DefaultListen     = ":8443"
	DefaultDemoListen = "127.0.0.1:8443"
	// DefaultDemoServiceDomain gives the demo's framework UIs origins of
	// their own: <name>.localhost, which browsers resolve to loopback.
	DefaultDemoServiceDomain = "localhost"
	DefaultRefresh           = 10 * time.Second
	DefaultProbeInterval     = 30 * time.Second
	DefaultProbeTimeout      = 5 * time.Second
	DefaultStaleSoftLimit    = time.Minute
	DefaultStaleHardLimit    = 10 * time.Minute
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultBodyIdleTimeout   = 30 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	// DefaultACMECA is Let's Encrypt's production directory, certmagic's
	// default too.
	DefaultACMECA = "https://acme-v02.api.letsencrypt.org/directory"
	// StorageDataDir is --storage's default: files under --data-dir.
	StorageDataDir = "data-dir"
)

// LinkMode is --links: how links to members are rewritten.
type LinkMode string

const (
	// LinksProxy (also "") sends every member URL through the gateway.
	LinksProxy LinkMode = "proxy"
	// LinksDirect keeps member URLs pointing at the member, with the
	// scheme it speaks.
	LinksDirect LinkMode = "direct"
)

// UpstreamTLS is --upstream-tls: whether plain members are reached.
type UpstreamTLS string

const (
	// UpstreamAuto (also "") uses TLS with members that speak it and plain
	// HTTP with the others.
	UpstreamAuto UpstreamTLS = "auto"
	// UpstreamRequired refuses members that speak only plain HTTP, as a
	// libprocess client without downgrade would.
	UpstreamRequired UpstreamTLS = "required"
)

// CertSource is --cert-source: where the front's certificate comes from.
type CertSource string

const (
	// CertAuto is resolved by Load: files when CERT_FILE and KEY_FILE are
	// set, else acme when --acme-domain is given, else internal. A
	// Gateway from Load never holds it.
	CertAuto CertSource = "auto"
	// CertFiles presents CERT_FILE/KEY_FILE, reloaded when they change.
	CertFiles CertSource = "files"
	// CertInternal issues certificates from a CA kept in DataDir.
	CertInternal CertSource = "internal"
	// CertACME obtains certificates from an ACME CA for ACME.Domains.
	CertACME CertSource = "acme"
)

// LogFormat is --log-format.
type LogFormat string

const (
	// LogText (also "") is slog's text format.
	LogText LogFormat = "text"
	// LogJSON is slog's JSON format, one object per line.
	LogJSON LogFormat = "json"
)

// Master is one --master: a URL (http:// or https://) or a bare
// host:port whose scheme is found by probing.
type Master struct {
	// Scheme is "http" or "https" when given, "" for a bare host:port.
	Scheme string
	// Address is host:port (a URL without a port gets 80 or 443).
	Address string
}

// String returns the master as the user would write it.
func (m Master) String() string {
	if m.Scheme == "" {
		return m.Address
	}
	return m.Scheme + "://" + m.Address
}

// ACME is the ACME certificate source's settings.
type ACME struct {
	// CA is the ACME directory URL; "" means DefaultACMECA.
	CA string
	// Email is the account's contact address; "" registers without one.
	Email string
	// CARoot is a PEM file of roots to trust for CA's own certificate (a
	// private ACME CA such as Pebble); "" means the system roots.
	CARoot string
	// Domains are the names certificates are obtained for.
	Domains []string
}

// Gateway is the settings of `mesosgate serve` (and of `config`, which
// prints them, and `demo`, which runs the gateway in front of a simulated
// cluster). Every field's zero value means its default, so a Gateway made
// in a test works; Load fills every field.
type Gateway struct {
	// Listen is the front's address, host:port. "" means DefaultListen;
	// port 0 picks a free port.
	Listen string
	// ServerNames are DNS names and IP addresses browsers reach the
	// gateway by, besides those Listen implies: the internal CA's
	// certificate covers them too.
	ServerNames []string
	// Cluster is how the gateway reaches the cluster: masters,
	// credentials, probing, and the libprocess SSL settings (which also
	// configure the front).
	Cluster
	// Links is how member URLs are rewritten; "" means LinksProxy.
	Links LinkMode
	// Access is who may read and change the cluster; its zero value is a
	// read-only gateway without authentication.
	Access

	// CertSource is where the front's certificate comes from: Load
	// resolves CertAuto; "" and CertAuto mean its rule (Certificates).
	CertSource CertSource
	// DataDir holds the internal CA and certmagic's storage. Load
	// defaults it to $XDG_DATA_HOME/mesosgate or
	// ~/.local/share/mesosgate; "" means the same.
	DataDir string
	// Storage, when it names servers, keeps the internal CA, the
	// certificates, the ACME account and their locks in ZooKeeper under
	// its path instead of DataDir (--storage zk://...): every gateway
	// given the same URL shares them, without a shared disk. The zero
	// value (--storage data-dir) keeps them in DataDir. Its String hides
	// the password.
	Storage zookeeper.URL
	// ACME is used when CertSource is CertACME.
	ACME ACME
	// ServiceDomain, if set, serves every framework UI on an origin of its
	// own, https://<name>.<ServiceDomain>/ (--service-domain), instead of
	// under /service/<name>/ on the gateway's; "" keeps path mode.
	// ServicePort is the port browsers reach those origins on, "" for the
	// --listen port.
	ServiceDomain string
	ServicePort   string
	// WebUIDir, if set, is a Mesos WebUI directory (src/webui of a Mesos
	// source tree) served instead of the leader's own; "" means the
	// leader's.
	WebUIDir string

	// TrustedProxies are the networks whose X-Forwarded-For/Proto/Host
	// headers are believed. Empty means none: the gateway sets those
	// headers from the connection and drops what clients sent.
	TrustedProxies []netip.Prefix
	// ReadHeaderTimeout bounds reading a request's headers (slow clients);
	// zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for its next
	// request; zero means DefaultIdleTimeout. There is no write timeout:
	// downloads, event streams and long polls last as long as they last;
	// a dead peer is noticed by TCP and by the member's side closing.
	IdleTimeout time.Duration
	// BodyIdleTimeout bounds the wait for a request body's next bytes: a
	// client that stops sending mid-body gets 408 and the member
	// connection the body went to is released; zero means
	// DefaultBodyIdleTimeout.
	BodyIdleTimeout time.Duration
	// ShutdownTimeout is how long in-flight requests may finish after
	// SIGINT/SIGTERM before connections are closed; zero means
	// DefaultShutdownTimeout, negative closes them at once
	// (--shutdown-timeout 0).
	ShutdownTimeout time.Duration

	// LogFormat is the log's format; "" means LogText.
	LogFormat LogFormat
	// LogLevel is the lowest level logged; zero is slog.LevelInfo.
	LogLevel slog.Level

	Origins
}

// FrontTLS reports whether the front speaks TLS: ENABLED on, or unset
// (the gateway's default; libprocess's is off). Only an explicit false
// serves plain HTTP, behind another TLS terminator.
func (g *Gateway) FrontTLS() bool { return g.TLS.Enabled != tlsx.Off }

// FrontSSL returns the SSL settings with the gateway's defaults applied
// to what is unset (gatewaySSL): ENABLED and ENABLE_TLS_V1_3 on (Load
// applies them already; a Gateway made in code gets them here), and
// --client-ca for the front's client certificates.
func (g *Gateway) FrontSSL() tlsx.Settings {
	s := g.TLS
	if s.Enabled == tlsx.Unset {
		s.Enabled = tlsx.On
	}
	if s.EnableTLSv13 == tlsx.Unset {
		s.EnableTLSv13 = tlsx.On
	}
	s.ClientCAFile = g.ClientCA
	return s
}

// Certificates returns where the front's certificate comes from,
// resolving "" and CertAuto by --cert-source's rule.
func (g *Gateway) Certificates() CertSource {
	if g.CertSource == "" || g.CertSource == CertAuto {
		src, _ := g.autoCertSource()
		return src
	}
	return g.CertSource
}

// autoCertSource is --cert-source auto's rule, with the reason it gives:
// files when CERT_FILE and KEY_FILE are set, else acme when --acme-domain
// is given, else internal.
func (g *Gateway) autoCertSource() (CertSource, string) {
	switch {
	case g.TLS.CertFile != "" && g.TLS.KeyFile != "":
		return CertFiles, "auto: CERT_FILE and KEY_FILE are set"
	case len(g.ACME.Domains) > 0:
		return CertACME, "auto: --acme-domain is given"
	}
	return CertInternal, "auto: no CERT_FILE and KEY_FILE, no --acme-domain"
}

// Load reads the settings of a gateway command from its arguments (after
// the command name) and the environment (os.Environ's form). command is
// "serve", "config" or "demo":
//   - serve and config take every flag; serve needs --master.
//   - demo takes --listen, --data-dir, --webui-dir and the log flags, and
//     reads no libprocess variables: the demo is self-contained, with a
//     certificate from the internal CA.
//
// Every problem is returned at once (errors.Join), one line each, followed
// by the warnings as lines starting "warning: " (a misspelt variable often
// explains a problem); help requested on the command line is a
// *HelpError.
func Load(command string, args, environment []string) (*Gateway, error) {
	g := &Gateway{}
	var o Origins
	var err error
	switch command {
	case "serve", "config":
		o, err = load(command, args, environment, true, g.define, func(s *set) []string {
			g.validate(s, command == "serve")
			warnings := readCredentials(s, g.MasterCredentials, &g.MasterCredential)
			return append(warnings, g.advise(s)...)
		})
	case "demo":
		o, err = load(command, args, environment, false, g.defineDemo, func(s *set) []string {
			g.checkFiles(s)
			return nil
		})
	default:
		return nil, fmt.Errorf("config.Load: %q is not a gateway command", command)
	}
	if err != nil {
		return nil, err
	}
	g.Origins = o
	return g, nil
}

// define registers every setting of serve and config, in the order help
// and `mesosgate config` list them. It returns readEnv's warnings.
func (g *Gateway) define(s *set) []string {
	g.defineListen(s, DefaultListen)
	g.defineCluster(s)
	g.defineCerts(s)
	g.defineWebUI(s)
	g.defineServiceDomain(s, "")
	g.defineAccess(s)
	s.add(&setting{flag: "trusted-proxy", placeholder: "CIDR", multi: true,
		usage: "network whose X-Forwarded-* headers are believed (IP or CIDR; repeat or separate with commas); default none",
		parse: prefixParser(&g.TrustedProxies), show: func() string { return joinPrefixes(g.TrustedProxies) }})
	s.add(durationSetting(&g.ReadHeaderTimeout, "read-header-timeout", DefaultReadHeaderTimeout, time.Millisecond,
		"longest time a client may take to send a request's headers"))
	s.add(durationSetting(&g.IdleTimeout, "idle-timeout", DefaultIdleTimeout, time.Millisecond,
		"longest time a keep-alive connection waits for its next request"))
	s.add(durationSetting(&g.BodyIdleTimeout, "body-idle-timeout", DefaultBodyIdleTimeout, time.Millisecond,
		"longest time a request body may go without sending a byte; the client then gets 408 and the member connection is released"))
	shutdown := durationSetting(&g.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, 0,
		"how long in-flight requests may finish after SIGINT/SIGTERM (0: close at once)")
	parse := shutdown.parse
	shutdown.parse = func(v string) error {
		if err := parse(v); err != nil || g.ShutdownTimeout != 0 {
			return err
		}
		g.ShutdownTimeout = -1 // 0 given: none, not the default
		return nil
	}
	shutdown.show = func() string { return max(g.ShutdownTimeout, 0).String() }
	s.add(shutdown)
	g.defineLogs(s)
	return s.addSSL(&g.TLS, gatewaySSL())
}

// defineDemo registers the few settings demo takes; the rest keep their
// defaults, with the internal CA as certificate source.
func (g *Gateway) defineDemo(s *set) []string {
	g.defineListen(s, DefaultDemoListen)
	g.defineServerNames(s)
	g.defineDataDir(s)
	g.defineWebUI(s)
	g.defineServiceDomain(s, DefaultDemoServiceDomain)
	s.add(boolSetting(&g.AllowWrites, "allow-writes", "let everyone change the simulated cluster through the gateway (writes are refused otherwise)"))
	g.defineLogs(s)
	g.applyDefaults()
	return nil
}

// applyDefaults gives the fields demo does not take their defaults.
func (g *Gateway) applyDefaults() {
	g.Links, g.UpstreamTLS, g.CertSource = LinksProxy, UpstreamAuto, CertInternal
	g.Refresh, g.ProbeInterval, g.ProbeTimeout = DefaultRefresh, DefaultProbeInterval, DefaultProbeTimeout
	g.StaleSoftLimit, g.StaleHardLimit = DefaultStaleSoftLimit, DefaultStaleHardLimit
	g.ReadHeaderTimeout, g.IdleTimeout, g.ShutdownTimeout = DefaultReadHeaderTimeout, DefaultIdleTimeout, DefaultShutdownTimeout
	g.BodyIdleTimeout = DefaultBodyIdleTimeout
	g.ACME.CA = DefaultACMECA
	g.TLS = tlsx.Settings{Enabled: tlsx.On, EnableTLSv13: tlsx.On}
}

func (g *Gateway) defineListen(s *set, listen string) {
	s.add(&setting{flag: "listen", placeholder: "host:port", def: listen,
		usage: "address the gateway serves on (port 0 picks a free port)",
		parse: listenParser(&g.Listen), show: func() string { return g.Listen }})
}

func (g *Gateway) defineWebUI(s *set) {
	s.add(&setting{flag: "webui-dir", placeholder: "DIR",
		usage: "serve this Mesos WebUI directory (src/webui of a Mesos source tree) instead of the leader's",
		parse: pathParser(&g.WebUIDir), show: func() string { return orNone(g.WebUIDir) }})
}

func (g *Gateway) defineServiceDomain(s *set, def string) {
	s.add(&setting{flag: "service-domain", placeholder: "DOMAIN[:PORT]", def: def,
		usage: "serve each framework UI on an origin of its own, https://<name>.DOMAIN/ (a wildcard DNS name pointing at the gateway; PORT: the port browsers use, default --listen's); empty: under /service/<name>/ on the gateway's origin",
		parse: serviceDomainParser(&g.ServiceDomain, &g.ServicePort),
		show: func() string {
			if g.ServicePort != "" {
				return g.ServiceDomain + ":" + g.ServicePort
			}
			return orNone(g.ServiceDomain)
		}})
}

// PublicOrigin is the gateway's origin as browsers reach it: its first
// --server-name or --acme-domain (else localhost) on PublicPort.
func (g *Gateway) PublicOrigin() string {
	host := "localhost"
	if names := append(append([]string(nil), g.ServerNames...), g.ACME.Domains...); len(names) > 0 {
		host = names[0]
	}
	if p := g.PublicPort(); p != "" {
		host = net.JoinHostPort(host, p)
	}
	return "https://" + host
}

// PublicPort is the port browsers reach the gateway and its framework
// origins on: --service-domain's, or --listen's; "" for 443.
func (g *Gateway) PublicPort() string {
	port := g.ServicePort
	if port == "" {
		_, port, _ = net.SplitHostPort(g.Listen)
	}
	if port == "443" || port == "0" {
		return ""
	}
	return port
}

func (g *Gateway) defineServerNames(s *set) {
	s.add(&setting{flag: "server-name", placeholder: "NAME|IP", multi: true,
		usage: "a DNS name or IP address browsers use to reach the gateway, added to the internal CA's certificate (repeat or separate with commas)",
		parse: serverNameParser(&g.ServerNames), show: func() string { return joinOrNone(g.ServerNames) }})
}

func (g *Gateway) defineDataDir(s *set) {
	def, _ := defaultDataDir(s.env)
	s.add(&setting{flag: "data-dir", placeholder: "DIR", def: def,
		defHelp: "$XDG_DATA_HOME/mesosgate or ~/.local/share/mesosgate",
		usage:   "where the internal CA and obtained certificates are kept",
		parse:   pathParser(&g.DataDir), show: func() string { return orNone(g.DataDir) }})
}

func (g *Gateway) defineCerts(s *set) {
	s.add(&setting{flag: "cert-source", placeholder: "auto|files|internal|acme", def: string(CertAuto),
		usage: "where the front's certificate comes from: auto = files when CERT_FILE and KEY_FILE are set, else acme when --acme-domain is given, else internal",
		parse: enumParser(&g.CertSource, CertAuto, CertFiles, CertInternal, CertACME),
		show:  func() string { return string(g.CertSource) }})
	g.defineServerNames(s)
	g.defineDataDir(s)
	s.add(&setting{flag: "storage", placeholder: "data-dir|zk://...", def: StorageDataDir,
		usage: "where the internal CA and the certificates are kept: data-dir (files under --data-dir), or ZooKeeper, " +
			"zk://[user:password@]host:port[,host:port...]/path, shared by every gateway given the same URL",
		parse: storageParser(&g.Storage), redact: zookeeper.RedactURL, show: func() string { return g.showStorage() }})
	s.add(&setting{flag: "acme-ca", placeholder: "URL", def: DefaultACMECA,
		usage: "ACME directory URL (a public CA, or a private one such as Pebble)",
		parse: httpsURLParser(&g.ACME.CA), redact: redactURL, show: func() string { return g.ACME.CA }})
	s.add(&setting{flag: "acme-email", placeholder: "ADDRESS",
		usage: "contact address registered with the ACME CA",
		parse: emailParser(&g.ACME.Email), show: func() string { return orNone(g.ACME.Email) }})
	s.add(&setting{flag: "acme-ca-root", placeholder: "FILE",
		usage: "PEM roots to trust for a private ACME CA's own certificate",
		parse: pathParser(&g.ACME.CARoot), show: func() string { return orNone(g.ACME.CARoot) }})
	s.add(&setting{flag: "acme-domain", placeholder: "NAME", multi: true,
		usage: "DNS name to obtain an ACME certificate for (repeat or separate with commas)",
		parse: domainParser(&g.ACME.Domains), show: func() string { return joinOrNone(g.ACME.Domains) }})
}

func (g *Gateway) defineCluster(s *set) {
	defineMasters(s, &g.Cluster)
	s.add(&setting{flag: "links", placeholder: "proxy|direct", def: string(LinksProxy),
		usage: "proxy: every member page through the gateway; direct: links point at members with the scheme each speaks",
		parse: enumParser(&g.Links, LinksProxy, LinksDirect), show: func() string { return string(g.Links) }})
	s.add(&setting{flag: "upstream-tls", placeholder: "auto|required", def: string(UpstreamAuto),
		usage: "auto: TLS to members that speak it, plain to the others; required: refuse plain members",
		parse: enumParser(&g.UpstreamTLS, UpstreamAuto, UpstreamRequired), show: func() string { return string(g.UpstreamTLS) }})
	s.add(durationSetting(&g.Refresh, "refresh", DefaultRefresh, time.Second, "how often the masters' state is polled"))
	s.add(durationSetting(&g.ProbeInterval, "probe-interval", DefaultProbeInterval, time.Second, "how often every member is probed for TLS and plain HTTP"))
	s.add(durationSetting(&g.ProbeTimeout, "probe-timeout", DefaultProbeTimeout, time.Millisecond, "longest time one probe of one member may take"))
	s.add(durationSetting(&g.StaleSoftLimit, "stale-soft-limit", DefaultStaleSoftLimit, time.Second, "age of the cluster map past which it is served with a warning"))
	s.add(durationSetting(&g.StaleHardLimit, "stale-hard-limit", DefaultStaleHardLimit, time.Second, "age of the cluster map past which routes answer 503"))
	defineCredentials(s, &g.MasterCredentials)
	s.add(&setting{flag: "service-allow", placeholder: "HOST|CIDR", multi: true,
		usage: "a host or network framework UIs may be at besides the cluster members' hosts (repeat or separate with commas); default members' hosts only",
		parse: serviceAllowParser(&g.ServiceAllow), show: func() string { return joinOrNone(g.ServiceAllow) }})
}

func (g *Gateway) defineLogs(s *set) {
	s.add(&setting{flag: "log-format", placeholder: "text|json", def: string(LogText),
		usage: "log format", parse: enumParser(&g.LogFormat, LogText, LogJSON),
		show: func() string { return string(g.LogFormat) }})
	s.add(&setting{flag: "log-level", placeholder: "debug|info|warn|error", def: "info",
		usage: "lowest level logged", parse: levelParser(&g.LogLevel),
		show: func() string { return strings.ToLower(g.LogLevel.String()) }})
}

// SharedStorage reports whether certificates are kept in ZooKeeper
// (--storage zk://...) rather than in DataDir.
func (g *Gateway) SharedStorage() bool { return len(g.Storage.Servers) > 0 }

func (g *Gateway) showStorage() string {
	if g.SharedStorage() {
		return g.Storage.String()
	}
	return StorageDataDir
}

// storageParser reads --storage: data-dir, or a zk:// URL.
func storageParser(p *zookeeper.URL) func(string) error {
	return func(v string) error {
		if v == StorageDataDir {
			*p = zookeeper.URL{}
			return nil
		}
		if !hasSchemeFold(v, "zk://") {
			return fmt.Errorf("unknown storage; use %s (files under --data-dir) or a ZooKeeper URL such as zk://zk1:2181,zk2:2181/mesosgate", StorageDataDir)
		}
		u, err := zookeeper.ParseURL(v)
		if err != nil {
			return err
		}
		*p = u
		return nil
	}
}

// durationSetting is a duration flag of at least min.
func durationSetting(p *time.Duration, flag string, def, min time.Duration, usage string) *setting {
	return &setting{flag: flag, placeholder: "DURATION", def: def.String(), usage: usage,
		parse: durationParser(p, min), show: func() string { return p.String() }}
}
