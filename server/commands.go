package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file is the work of the commands that talk to a cluster without
// serving it (probe, certs), and the one place where a command's settings
// become upstream's configuration (serve uses it too, in Run).

// clusterConfig turns the settings every cluster command shares into
// upstream's configuration. The connecting side's TLS is tc's.
func clusterConfig(c *config.Cluster, tc *tlsx.Context, log *slog.Logger) upstream.Config {
	cfg := upstream.Config{
		TLS:            tc,
		UpstreamTLS:    upstreamTLS(c.UpstreamTLS),
		Refresh:        c.Refresh,
		ProbeInterval:  c.ProbeInterval,
		ProbeTimeout:   c.ProbeTimeout,
		StaleSoftLimit: c.StaleSoftLimit,
		StaleHardLimit: c.StaleHardLimit,
		Policy:         upstream.Policy{ServiceAllow: c.ServiceAllow},
		Logger:         log,
	}
	for _, m := range c.Masters {
		cfg.Masters = append(cfg.Masters, upstream.Master{Scheme: m.Scheme, Address: m.Address})
	}
	if c.UsesZooKeeper() {
		zk := c.ZooKeeper
		cfg.ZooKeeper = &zk
	}
	if c.MasterCredentials != "" {
		cfg.Credentials = &upstream.Credentials{Principal: c.MasterCredential.Principal, Secret: c.MasterCredential.Secret}
	}
	return cfg
}

// upstreamTLS converts --upstream-tls.
func upstreamTLS(p config.UpstreamTLS) upstream.TLSPolicy {
	switch p {
	case config.UpstreamRequired:
		return upstream.TLSRequired
	case config.UpstreamAuto, "":
		return upstream.TLSAuto
	}
	return upstream.TLSPolicy(p) // upstream reports it as unknown
}

// connectOnly makes the TLS context of a command that only connects to
// members (probe, certs): ENABLED, the accepting side, does not apply and
// must not demand a certificate it has no use for.
func connectOnly(c *config.Cluster, name func(string) string, log *slog.Logger) (*tlsx.Context, error) {
	settings := c.TLS
	settings.Enabled = tlsx.Unset
	return tlsx.NewContext(settings, tlsx.Options{Name: name, Logger: log, ReloadInterval: -1})
}

// discoverOnce makes a cluster for one discovery by polling (no
// SUBSCRIBE stream) and runs it; the caller closes both returned values.
func discoverOnce(ctx context.Context, c *config.Cluster, name func(string) string, log *slog.Logger) (*upstream.Cluster, *tlsx.Context, error) {
	tc, err := connectOnly(c, name, log)
	if err != nil {
		return nil, nil, err
	}
	cfg := clusterConfig(c, tc, log)
	cfg.NoSubscribe = true
	cluster, err := upstream.New(cfg)
	if err != nil {
		tc.Close()
		return nil, nil, err
	}
	return cluster, tc, nil
}

// Probe is `mesosgate probe`: one discovery, one probe of every member,
// and the report. A nil report means the settings could not be used (err
// says why); a report with an error means no configured master led to a
// cluster, which the report shows too.
func Probe(ctx context.Context, p *config.Probe, log *slog.Logger) (*upstream.Report, error) {
	cluster, tc, err := discoverOnce(ctx, &p.Cluster, p.SSLName, log)
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	defer cluster.Close()
	discoveryErr := cluster.Refresh(ctx)
	cluster.ProbeAll(ctx)
	if discoveryErr != nil {
		discoveryErr = fmt.Errorf("%w; check %s", discoveryErr, p.Name("master"))
	}
	return cluster.Report(), discoveryErr
}

// CertsResult is what `mesosgate certs` did.
type CertsResult struct {
	// Masters and Agents count the members found.
	Masters, Agents int
	// Notes are what the certificate may miss (standbys known by one
	// address only).
	Notes []string
	// Files are the files written.
	Files *tlsx.SharedFiles
}

// Certs is `mesosgate certs`: one discovery, then the shared certificate
// naming every master and agent found, and the --host names.
func Certs(ctx context.Context, c *config.Certs, log *slog.Logger) (*CertsResult, error) {
	cluster, tc, err := discoverOnce(ctx, &c.Cluster, c.SSLName, log)
	if err != nil {
		return nil, err
	}
	defer tc.Close()
	defer cluster.Close()
	if err := cluster.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("%w; check %s", err, c.Name("master"))
	}
	res, names := namesOf(cluster.Snapshot(), c.Masters)
	res.Files, err = tlsx.SharedRequest{
		Out: c.Out, Names: append(names, c.Hosts...),
		CACert: c.CACert, CAKey: c.CAKey, Validity: c.Validity, Force: c.Force,
	}.Write()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// namesOf collects the SANs of a cluster: each member's hostname and the
// host of every address it is known by (an agent's pid IP, a master's
// configured address, hostname and pid IP), and the configured masters'
// hosts; repeats are left to the certificate to remove. A standby known by
// one address only (configured, never seen leading) may have names the
// certificate misses: a note says so; one found in ZooKeeper comes with
// its hostname and IP.
func namesOf(snap *upstream.Snapshot, configured []config.Master) (*CertsResult, []string) {
	res := &CertsResult{Agents: len(snap.Agents)}
	var names []string
	add := func(hostPort string) {
		if host, _, err := net.SplitHostPort(hostPort); err == nil {
			names = append(names, host)
		}
	}
	for _, m := range snap.Members() {
		if m.Role != upstream.RoleAgent {
			res.Masters++
		}
		if m.Hostname != "" {
			names = append(names, m.Hostname)
		}
		for _, a := range m.Addresses {
			add(a)
		}
		add(m.Address)
		if m.Role == upstream.RoleStandby && len(m.Addresses) < 2 {
			res.Notes = append(res.Notes, fmt.Sprintf("standby master %s is known by the address it was given only: if members or browsers reach it by another name or address, add it with --host", m.Address))
		}
	}
	for _, m := range configured {
		add(m.Address)
	}
	return res, names
}
