package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

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
// SIGTERM in main), then shuts down gracefully. It provisions the SSL
// context, starts discovery and probing, opens the front listener and
// serves. Errors say which setting is at fault and what to do.
func Run(ctx context.Context, g *config.Gateway, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src := o.Certificates
	if src == nil {
		var err error
		if src, err = certSource(g, log); err != nil {
			return err
		}
		if src != nil {
			defer src.Close()
		}
	}
	topts := tlsx.Options{Logger: log, Name: g.SSLName}
	if src != nil {
		topts.Certificates = src
	}
	tc, err := tlsx.NewContext(g.TLS, topts)
	if err != nil {
		return err
	}
	defer tc.Close()

	tlsOn := g.TLS.Enabled.Or(false)
	var creds *upstream.Credentials
	if g.MasterCredentials != "" {
		creds = &upstream.Credentials{Principal: g.MasterCredential.Principal, Secret: g.MasterCredential.Secret}
	}
	cluster, err := upstream.New(upstream.Config{
		Masters:        masters(g.Masters),
		Credentials:    creds,
		TLS:            tc,
		UpstreamTLS:    upstream.TLSPolicy(g.UpstreamTLS),
		Refresh:        g.Refresh,
		ProbeInterval:  g.ProbeInterval,
		ProbeTimeout:   g.ProbeTimeout,
		StaleSoftLimit: g.StaleSoftLimit,
		StaleHardLimit: g.StaleHardLimit,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	defer cluster.Close()

	ln, hsts, err := Listen(g.Listen, tc)
	if err != nil {
		return fmt.Errorf("%w; choose another address with %s", err, g.Name("listen"))
	}
	if src != nil {
		// Internal: the certificates are issued (or loaded) before this
		// returns. ACME: obtained in the background, answering the CA's
		// TLS-ALPN-01 challenge on the listener just opened.
		if err := src.Start(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("obtain the front's certificate (%s): %w", g.Name("cert-source"), err)
		}
	}
	var front func() []tlsx.CertInfo
	if tlsOn {
		front = tc.FrontCertificates
	}
	metrics, err := NewMetrics(MetricsOptions{Cluster: cluster, FrontCertificates: front, Version: o.Version, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	gw, err := New(Options{
		Cluster:        cluster,
		Metrics:        metrics,
		Links:          linkMode(g.Links),
		TrustedProxies: g.TrustedProxies,
		WebUIDir:       g.WebUIDir,
		HSTS:           hsts,
		ProbeTimeout:   g.ProbeTimeout,
		StaleHardLimit: g.StaleHardLimit,
		Dashboard: func(d *web.Dashboard) {
			d.Version = o.Version
			if tlsOn {
				d.Gateway = gatewayCert(tc)
			}
		},
		Logger: log,
	})
	if err != nil {
		ln.Close()
		return err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = cluster.Run(runCtx)
	}()
	defer wg.Wait()

	u := frontURL(ln.Addr(), tlsOn)
	log.Info("serving", "url", u, "masters", len(g.Masters), "links", linkMode(g.Links).String(), "hsts", hsts)
	if o.Ready != nil {
		o.Ready(u)
	}
	err = gw.Serve(ctx, ln, ServeOptions{
		ReadHeaderTimeout: g.ReadHeaderTimeout,
		IdleTimeout:       g.IdleTimeout,
		ShutdownTimeout:   g.ShutdownTimeout,
	})
	stop()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// masters converts the configured masters.
func masters(ms []config.Master) []upstream.Master {
	out := make([]upstream.Master, len(ms))
	for i, m := range ms {
		out[i] = upstream.Master{Scheme: m.Scheme, Address: m.Address}
	}
	return out
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

// certSource makes the front's certificate source the settings name:
// nil for CERT_FILE/KEY_FILE (the Context's own) or a plain front, the
// internal CA's or ACME's otherwise. The caller starts and closes it.
func certSource(g *config.Gateway, log *slog.Logger) (*tlsx.ManagedSource, error) {
	if !g.TLS.Enabled.Or(false) {
		return nil, nil
	}
	switch g.CertSource {
	case config.CertInternal:
		names, ips, err := tlsx.InternalNames(g.Listen, g.ServerNames...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Name("listen"), err)
		}
		src, err := tlsx.NewInternalSource(tlsx.InternalOptions{DataDir: g.DataDir, Names: names, IPs: ips, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("the internal CA in %s (%s): %w", g.DataDir, g.Name("data-dir"), err)
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
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return web.GatewayCert{Subject: c.Subject, Issuer: c.Issuer, Names: names, NotAfter: c.NotAfter, Source: c.Source}
}
