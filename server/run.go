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
	// the source the settings name (demo passes its internal CA's).
	Certificates tlsx.CertSource
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
	tc, err := tlsx.NewContext(g.TLS, tlsx.Options{Logger: log, Name: g.SSLName, Certificates: o.Certificates})
	if err != nil {
		return err
	}
	defer tc.Close()

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
	gw, err := New(Options{
		Cluster:        cluster,
		Links:          linkMode(g.Links),
		TrustedProxies: g.TrustedProxies,
		WebUIDir:       g.WebUIDir,
		HSTS:           hsts,
		ProbeTimeout:   g.ProbeTimeout,
		StaleHardLimit: g.StaleHardLimit,
		Dashboard:      func(d *web.Dashboard) { d.Version = o.Version },
		Logger:         log,
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

	u := frontURL(ln.Addr(), g.TLS.Enabled.Or(false))
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
