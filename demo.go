package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/server"
)

// demoHooks let tests see into a running demo.
type demoHooks struct {
	// links, if set, replaces the demo's link mode (the default, proxy).
	links config.LinkMode
	// ready is called with the cluster once the gateway serves.
	ready func(c *sim.Cluster, url, caFile string)
}

// demoModes are the agents of the demo: one in every state of a member
// during an SSL migration. The masters are a leader with SSL and
// downgrade and a standby with SSL only.
var (
	demoMasterModes = []sim.Mode{sim.Downgrade, sim.SSL}
	demoAgentModes  = []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSLClientCert}
)

// demoCommand is `mesosgate demo`: runDemo without hooks.
func demoCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	return runDemo(ctx, args, environ, stdout, stderr, demoHooks{})
}

// runDemo runs the demo until ctx ends. Bad flags exit 2; a demo that
// cannot start (the address is taken, the data directory is not
// writable) exits 2 with one line saying what to change.
func runDemo(ctx context.Context, args, environ []string, stdout, stderr io.Writer, hooks demoHooks) int {
	g, err := config.Load("demo", args, environ)
	if err != nil {
		return loadFailed("demo", err, stdout, stderr)
	}
	log := demoLogger(g, stderr)
	// The internal CA signs everything: the gateway's certificate, its
	// client certificate, and the members' shared certificate, so that
	// one file to trust covers the demo (the members too, for
	// --links direct) and the ssl-clientcert agent accepts the gateway's
	// own client certificate.
	src, closeSrc, err := server.CertificateSource(ctx, g, log)
	if err != nil {
		return failed("demo", err, stderr, 2)
	}
	defer closeSrc()
	opts := demoCluster(g.WebUIDir, log)
	opts.CA = src.CA()
	cluster, err := sim.Start(opts)
	if err != nil {
		return failed("demo", fmt.Errorf("start the simulated cluster: %w", err), stderr, 1)
	}
	defer cluster.Close()
	aimAt(g, cluster, src.CAFile())
	if hooks.links != "" {
		g.Links = hooks.links
	}
	err = server.Run(ctx, g, server.RunOptions{
		Logger:       log,
		Certificates: src,
		Version:      version(),
		Ready: func(url string) {
			printDemo(stdout, g, url, src.CAFile(), cluster)
			if hooks.ready != nil {
				hooks.ready(cluster, url, src.CAFile())
			}
		},
	})
	if err != nil {
		return failed("demo", err, stderr, 2)
	}
	fmt.Fprintln(stdout, "Stopped.")
	return 0
}

// demoLogger logs warnings and errors only, unless asked: the demo's own
// output says what to open and trust, and its log would repeat it.
func demoLogger(g *config.Gateway, stderr io.Writer) *slog.Logger {
	if src, ok := g.Sources["log-level"]; !ok || src.Kind == config.FromDefault {
		g.LogLevel = slog.LevelWarn
	}
	log := newLogger(g, stderr)
	for _, w := range g.Warnings {
		log.Warn(w)
	}
	return log
}

// demoCluster is the simulated cluster the demo runs: one member in every
// state of an SSL migration.
func demoCluster(webUIDir string, log *slog.Logger) sim.Options {
	return sim.Options{
		MasterModes: demoMasterModes,
		Modes:       demoAgentModes,
		WebUIDir:    webUIDir,
		Name:        "mesosgate-demo",
		Logger:      slog.New(log.Handler()).With("component", "sim"),
	}
}

// aimAt points the gateway's settings at the simulated cluster.
func aimAt(g *config.Gateway, c *sim.Cluster, caFile string) {
	for _, m := range c.Masters() {
		g.Masters = append(g.Masters, config.Master{Address: m.Addr()})
	}
	g.WebUIDir = "" // the leader serves it, as a real master would
	// The members' certificates come from the same CA: the dashboard and
	// the probe report them as verified (verification itself stays off,
	// as in a stock libprocess client).
	g.TLS.CAFile = caFile
}

// printDemo says what to open and what to trust, then what runs behind.
func printDemo(w io.Writer, g *config.Gateway, url, caFile string, c *sim.Cluster) {
	fmt.Fprintf(w, "mesosgate demo: a simulated Mesos cluster in the middle of an SSL migration, behind the gateway.\n\n")
	fmt.Fprintf(w, "  Open       %s/\n", url)
	fmt.Fprintf(w, "  Dashboard  %s/gateway/\n", url)
	fmt.Fprintf(w, "  Trust      %s\n", caFile)
	fmt.Fprintf(w, "             (the gateway's local CA; try: curl --cacert %s %s/gateway/api/cluster)\n\n", caFile, url)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MEMBER\tSPEAKS\tADDRESS\tTHROUGH THE GATEWAY")
	for _, m := range c.Masters() {
		role, path := "standby", "/gateway/masters/"+m.Addr()+"/"
		if m.Leading() {
			role, path = "leader", "/"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", role, m.Mode().Speaks(), m.HostPort(), url+path)
	}
	for _, a := range c.Agents() {
		fmt.Fprintf(tw, "  agent\t%s\t%s\t%s\n", speaks(a.Mode()), a.HostPort(), url+"/#/agents/"+a.ID())
	}
	for _, f := range c.Frameworks() {
		if f.WebUIURL() != "" {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name(), "plain-only", f.UI().HostPort(), server.ServiceURL(g, url, f.Name()))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRunning until interrupted (Ctrl-C).")
}

// speaks names a mode as probing reports it, noting the client
// certificate an ssl-clientcert member demands.
func speaks(m sim.Mode) string {
	if m == sim.SSLClientCert {
		return m.Speaks() + " (client cert)"
	}
	return m.Speaks()
}
