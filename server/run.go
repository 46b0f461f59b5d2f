package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
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
	// Access control first: it may contact the OpenID Provider, and a
	// gateway that cannot start must not have written anything (the
	// internal CA) before it says so.
	var gw *Gateway
	acc, err := newAccess(ctx, g, g.PublicOrigin(), func() *web.Pages { return gw.pages }, log)
	if err != nil {
		return err
	}
	if g.AllowWrites {
		log.Warn("--allow-writes: everyone who reaches the gateway may change the cluster; use authentication (--oidc-issuer, --client-ca) and --operators instead")
	}
	src := o.Certificates
	if src == nil {
		if src, err = CertificateSource(g, log); err != nil {
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
	if err := checkServiceCertificate(g, tc); err != nil {
		return err
	}
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
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { _ = cluster.Run(runCtx) })
	defer wg.Wait()

	u := frontURL(ln.Addr(), g.FrontTLS())
	log.Info("serving", "url", u, "masters", len(g.Masters), "links", linkMode(g.Links).String(), "hsts", hsts)
	if o.Ready != nil {
		o.Ready(u)
	}
	err = gw.Serve(ctx, ln, ServeOptions{ReadHeaderTimeout: g.ReadHeaderTimeout, IdleTimeout: g.IdleTimeout, ShutdownTimeout: g.ShutdownTimeout})
	stop()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// frontContext is the gateway's SSL context: the front (with the gateway's
// defaults, HTTPS unless ENABLED is false) and the connections to members.
func frontContext(g *config.Gateway, src *tlsx.ManagedSource, log *slog.Logger) (*tlsx.Context, error) {
	topts := tlsx.Options{Logger: log, Name: g.SSLName}
	if src != nil {
		topts.Certificates = src
	}
	return tlsx.NewContext(g.FrontSSL(), topts)
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
// context's own) or a plain front, the internal CA's or ACME's otherwise.
// The caller starts it (Run does) and closes it.
func CertificateSource(g *config.Gateway, log *slog.Logger) (*tlsx.ManagedSource, error) {
	if !g.FrontTLS() {
		return nil, nil
	}
	switch g.Certificates() {
	case config.CertInternal:
		names, ips, err := tlsx.InternalNames(g.Listen, g.ServerNames...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Name("listen"), err)
		}
		src, err := tlsx.NewInternalSource(tlsx.InternalOptions{DataDir: g.DataDir, Names: names, IPs: ips, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("the internal CA in %s: %w; choose another directory with %s", g.DataDir, err, g.Name("data-dir"))
		}
		return src, nil
	case config.CertACME:
		src, err := tlsx.NewACMESource(tlsx.ACMEOptions{
			DataDir: g.DataDir, Directory: g.ACME.CA, Email: g.ACME.Email, CARoot: g.ACME.CARoot,
			Domains: g.ACME.Domains, ChallengeAddr: g.Listen, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("ACME (%s): %w", g.Name("acme-ca"), err)
		}
		return src, nil
	}
	return nil, nil
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
