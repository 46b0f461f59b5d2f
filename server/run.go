package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// RunOptions are what Run needs besides the settings.
type RunOptions struct {
	// Logger receives everything the gateway logs. Nil discards.
	Logger *slog.Logger
	// Certificates, if set, supplies the front's certificate instead of
	// the source the settings name: demo passes the internal CA's source,
	// whose CA it needs before the gateway starts. Run starts it; the
	// caller closes it.
	Certificates *tlsx.ManagedSource
	// Version is shown on the dashboard; empty shows none.
	Version string
	// Ready, if set, is called once the front listener is open, with its
	// URL ("https://127.0.0.1:8443"), before the first request is served.
	Ready func(url string)
}

// Run runs the gateway that settings g describe until ctx ends (SIGINT or
// SIGTERM in main), then shuts down gracefully: the front's certificate
// source and SSL context, the cluster (discovery and probing), the front
// listener, and the gateway serving on it. Errors say which setting is at
// fault and what to do.
func Run(ctx context.Context, g *config.Gateway, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The storage gateways share (ZooKeeper with --storage), then access
	// control: it may contact the OpenID Provider, and a gateway that
	// cannot start must not have written anything (the internal CA, the
	// session key) before it says so.
	storage, closeStorage, err := openStorage(ctx, g, log)
	if err != nil {
		return err
	}
	defer closeStorage()
	var gw *Gateway
	acc, err := newAccess(ctx, g, storageFor(g, storage), func() *web.Pages { return gw.pages }, log)
	if err != nil {
		return err
	}
	if g.AllowWrites {
		log.Warn("--allow-writes: everyone who reaches the gateway may change the cluster; use authentication (--oidc-issuer, --client-ca) and --operators instead")
	}
	src := o.Certificates
	if src == nil {
		if src, err = certificateSource(g, storage, log); err != nil {
			return err
		}
		if src != nil {
			defer src.Close()
		}
	}
	tc, err := frontContext(g, src, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	ccfg := clusterConfig(&g.Cluster, tc, log)
	ccfg.ServiceDomain = g.ServiceDomain
	cluster, err := upstream.New(ccfg)
	if err != nil {
		return err
	}
	defer cluster.Close()
	ln, hsts, err := listen(ctx, g, tc, src)
	if err != nil {
		return err
	}
	cluster.Exclude(ln.Addr()) // never a destination: a request there would loop
	if g.ServicePort == "" {
		// --listen's port 0 is known now.
		_, g.ServicePort, _ = net.SplitHostPort(ln.Addr().String())
	}
	gw, err = newGateway(g, cluster, tc, acc, hsts, o.Version, log)
	if err != nil {
		ln.Close()
		return err
	}
	if src != nil && g.ServiceDomain != "" {
		src.Allow(gw.allowServiceHost) // framework UIs' own hosts, on demand
	}
	return serve(ctx, g, gw, cluster, ln, hsts, o, log)
}

// serve runs the cluster's discovery and probing and gw on ln until ctx
// ends.
func serve(ctx context.Context, g *config.Gateway, gw *Gateway, cluster *upstream.Cluster, ln net.Listener, hsts bool, o RunOptions, log *slog.Logger) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { _ = cluster.Run(runCtx) })
	if _, set := os.LookupEnv("GOGC"); !set {
		wg.Go(func() { tuneGC(runCtx, gcHeapBudget) }) // gc.go
	}
	defer wg.Wait()

	u := frontURL(ln.Addr(), g.FrontTLS())
	masters := any(len(g.Masters))
	if g.UsesZooKeeper() {
		masters = g.ZooKeeper // its LogValue hides the password
	}
	log.Info("serving", "url", u, "masters", masters, "links", linkMode(g.Links).String(), "hsts", hsts)
	if o.Ready != nil {
		o.Ready(u)
	}
	err := gw.Serve(ctx, ln, ServeOptions{ReadHeaderTimeout: g.ReadHeaderTimeout, IdleTimeout: g.IdleTimeout, ShutdownTimeout: g.ShutdownTimeout})
	stop()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// frontContext is the gateway's SSL context: the front (with the gateway's
// defaults, HTTPS unless ENABLED is false) and the connections to members;
// a certificate from files must cover the framework UIs' hosts.
func frontContext(g *config.Gateway, src *tlsx.ManagedSource, log *slog.Logger) (*tlsx.Context, error) {
	topts := tlsx.Options{Logger: log, Name: g.SSLName}
	if src != nil {
		topts.Certificates = src
	}
	tc, err := tlsx.NewContext(g.FrontSSL(), topts)
	if err != nil {
		return nil, err
	}
	if err := checkServiceCertificate(g, tc); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// listen opens the front listener, then starts the certificate source on
// it: the internal CA's certificates are issued (or loaded) before this
// returns; ACME's are obtained in the background, answering the CA's
// TLS-ALPN-01 challenge on the listener just opened.
func listen(ctx context.Context, g *config.Gateway, tc *tlsx.Context, src *tlsx.ManagedSource) (net.Listener, bool, error) {
	ln, hsts, err := Listen(g.Listen, tc)
	if err != nil {
		return nil, false, fmt.Errorf("%w; choose another address with %s", err, g.Name("listen"))
	}
	if src != nil {
		if err := src.Start(ctx); err != nil {
			ln.Close()
			return nil, false, fmt.Errorf("obtain the front's certificate (%s): %w", g.Name("cert-source"), err)
		}
	}
	return ln, hsts, nil
}

// newGateway makes the handler serve runs: metrics, the dashboard's view
// of the front certificate and version, and the settings' options.
func newGateway(g *config.Gateway, cluster *upstream.Cluster, tc *tlsx.Context, acc *access.Access, hsts bool, version string, log *slog.Logger) (*Gateway, error) {
	tlsOn := g.FrontTLS()
	var front func() []tlsx.CertInfo
	if tlsOn {
		front = tc.FrontCertificates
	}
	metrics, err := NewMetrics(MetricsOptions{Cluster: cluster, FrontCertificates: front, Version: version, Logger: log})
	if err != nil {
		return nil, err
	}
	return New(Options{
		Cluster:         cluster,
		Metrics:         metrics,
		Access:          acc,
		Links:           linkMode(g.Links),
		TrustedProxies:  g.TrustedProxies,
		WebUIDir:        g.WebUIDir,
		HSTS:            hsts,
		BodyIdleTimeout: g.BodyIdleTimeout,
		ServiceDomain:   g.ServiceDomain,
		PublicPort:      g.PublicPort(),
		GatewayHost:     gatewayHost(g, tc),
		Dashboard: func(d *web.Dashboard) {
			d.Version = version
			if tlsOn {
				d.Gateway = gatewayCert(tc)
			}
		},
		Logger: log,
	})
}

// linkMode converts --links.
func linkMode(m config.LinkMode) rewrite.Mode {
	if m == config.LinksDirect {
		return rewrite.Direct
	}
	return rewrite.Proxy
}

// frontURL is the URL to open for a listener: its address, with
// "localhost" for a wildcard or loopback address.
func frontURL(addr net.Addr, tlsOn bool) string {
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// CertificateSource makes the front's certificate source the settings
// name (Gateway.Certificates): nil for CERT_FILE/KEY_FILE (the SSL
// context's own) or a plain front, the internal CA's or ACME's otherwise,
// keeping its CA, certificates and locks in the data directory or, with
// --storage zk://..., in ZooKeeper, shared with every gateway given the
// same URL. The caller starts it (Run does) and calls closeAll when done,
// which closes the source and then the storage (never nil).
func CertificateSource(ctx context.Context, g *config.Gateway, log *slog.Logger) (src *tlsx.ManagedSource, closeAll func(), err error) {
	storage, closeStorage, err := openStorage(ctx, g, log)
	if err != nil {
		return nil, closeStorage, err
	}
	if src, err = certificateSource(g, storage, log); err != nil || src == nil {
		closeStorage()
		return nil, func() {}, err
	}
	return src, func() {
		src.Close()
		closeStorage()
	}, nil
}

// certificateSource is CertificateSource with the shared storage opened
// (nil: the data directory).
func certificateSource(g *config.Gateway, shared certmagic.Storage, log *slog.Logger) (*tlsx.ManagedSource, error) {
	if !g.FrontTLS() || (g.Certificates() != config.CertInternal && g.Certificates() != config.CertACME) {
		return nil, nil
	}
	return managedSource(g, shared, log)
}

// managedSource makes the internal CA's or ACME's source, with the shared
// storage when there is one.
func managedSource(g *config.Gateway, shared certmagic.Storage, log *slog.Logger) (*tlsx.ManagedSource, error) {
	where := g.DataDir
	if shared != nil {
		where = "the storage " + g.Storage.String()
	}
	if g.Certificates() == config.CertACME {
		src, err := tlsx.NewACMESource(tlsx.ACMEOptions{
			DataDir: g.DataDir, Storage: shared, Directory: g.ACME.CA, Email: g.ACME.Email, CARoot: g.ACME.CARoot,
			Domains: g.ACME.Domains, ChallengeAddr: g.Listen, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("ACME (%s, certificates in %s): %w", g.Name("acme-ca"), where, err)
		}
		return src, nil
	}
	names, ips, err := tlsx.InternalNames(g.Listen, g.ServerNames...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.Name("listen"), err)
	}
	src, err := tlsx.NewInternalSource(tlsx.InternalOptions{DataDir: g.DataDir, Storage: shared, Names: names, IPs: ips, Logger: log})
	if err != nil {
		fix := "choose another directory with " + g.Name("data-dir")
		if shared != nil {
			fix = "check " + g.Name("storage")
		}
		return nil, fmt.Errorf("the internal CA in %s: %w; %s", where, err, fix)
	}
	return src, nil
}

// storageWait bounds the wait for ZooKeeper when the certificates are kept
// there: without them the front cannot serve, and a supervisor restarting
// the gateway (systemd, Marathon) retries.
const storageWait = 30 * time.Second

// openStorage opens the ZooKeeper storage --storage names, nil for the
// data directory; closeStorage is never nil.
func openStorage(ctx context.Context, g *config.Gateway, log *slog.Logger) (storage certmagic.Storage, closeStorage func(), err error) {
	if !g.SharedStorage() {
		return nil, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storageWait)
	defer cancel()
	log.Info("certificates are kept in ZooKeeper", "storage", g.Storage)
	s, err := zookeeper.NewStorage(ctx, g.Storage, zookeeper.StorageOptions{Logger: log})
	if err != nil {
		return nil, func() {}, fmt.Errorf("%w; check %s", err, g.Name("storage"))
	}
	return s, func() { s.Close() }, nil
}

// storageFor is the storage of what gateways share: shared (ZooKeeper),
// or certmagic's files under the data directory, where the internal CA's
// and ACME's certificates are kept too.
func storageFor(g *config.Gateway, shared certmagic.Storage) certmagic.Storage {
	if shared != nil {
		return shared
	}
	return &certmagic.FileStorage{Path: filepath.Join(g.DataDir, "certmagic")}
}

// gatewayCert describes the front's certificate for the dashboard: the
// first the front presents.
func gatewayCert(tc *tlsx.Context) web.GatewayCert {
	certs := tc.FrontCertificates()
	if len(certs) == 0 {
		return web.GatewayCert{}
	}
	c := certs[0]
	return web.GatewayCert{Subject: c.Subject, Issuer: c.Issuer, Names: c.SANs, NotAfter: c.NotAfter, Source: c.Source}
}

// gatewayHost is the gateway's own name as browsers know it, for links
// from a framework UI's own origin back into the gateway: the first
// --server-name or --acme-domain, else the first name the front's
// certificate carries that is no wildcard, else localhost.
func gatewayHost(g *config.Gateway, tc *tlsx.Context) string {
	if names := append(append([]string(nil), g.ServerNames...), g.ACME.Domains...); len(names) > 0 {
		return names[0]
	}
	for _, c := range tc.FrontCertificates() {
		for _, n := range c.SANs {
			if !strings.HasPrefix(n, "*.") {
				return n
			}
		}
	}
	return "localhost"
}

// checkServiceCertificate checks that a front certificate from files
// covers the framework UIs' hosts (*.<service domain>): the internal CA
// and ACME obtain theirs on demand.
func checkServiceCertificate(g *config.Gateway, tc *tlsx.Context) error {
	if g.ServiceDomain == "" || !g.FrontTLS() || g.Certificates() != config.CertFiles {
		return nil
	}
	for _, c := range tc.FrontCertificates() {
		if slices.Contains(c.SANs, "*."+g.ServiceDomain) {
			return nil
		}
	}
	return fmt.Errorf("%s=%s: the certificate in %s names no *.%s; give a wildcard certificate for the framework UIs' hosts, or use --cert-source internal or acme",
		g.Name("service-domain"), g.ServiceDomain, g.SSLName("CERT_FILE"), g.ServiceDomain)
}
