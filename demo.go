package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/server"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/webui"
)

// runDemo is `mesosgate demo`: a simulated Mesos cluster in the middle of
// an SSL migration on loopback, and the gateway in front of it with a
// certificate from its internal CA, until SIGINT or SIGTERM.
func runDemo(args, environ []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demoCommand(ctx, args, environ, stdout, stderr, demoHooks{})
}

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

// demoCommand runs the demo until ctx ends. Bad flags exit 2; a demo that
// cannot start (the address is taken, the data directory is not
// writable) exits 2 with one line saying what to change.
func demoCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer, hooks demoHooks) int {
	g, err := config.Load("demo", args, environ)
	if err != nil {
		return loadFailed("demo", err, stdout, stderr)
	}
	if src, ok := g.Sources["log-level"]; !ok || src.Kind == config.FromDefault {
		// The demo's own output says what to open and trust; its log
		// repeats it. Warnings and errors only, unless asked.
		g.LogLevel = slog.LevelWarn
	}
	log := newLogger(g, stderr)
	for _, w := range g.Warnings {
		log.Warn(w)
	}
	if g.WebUIDir != "" {
		if _, err := webui.Open(g.WebUIDir); err != nil {
			return failed("demo", fmt.Errorf("%s=%s: %w", g.Name("webui-dir"), g.WebUIDir, err), stderr, 2)
		}
	}

	// The internal CA signs everything: the gateway's certificate, its
	// client certificate, and the members' shared certificate, so that
	// one file to trust covers the demo (the members too, for
	// --links direct) and the ssl-clientcert agent accepts the gateway's
	// own client certificate.
	names, ips, err := tlsx.InternalNames(g.Listen, g.ServerNames...)
	if err != nil {
		return failed("demo", fmt.Errorf("%s: %w", g.Name("listen"), err), stderr, 2)
	}
	src, err := tlsx.NewInternalSource(tlsx.InternalOptions{DataDir: g.DataDir, Names: names, IPs: ips, Logger: log})
	if err != nil {
		return failed("demo", fmt.Errorf("the internal CA in %s: %w; choose another directory with %s", g.DataDir, err, g.Name("data-dir")), stderr, 2)
	}
	defer src.Close()
	pkiDir, err := os.MkdirTemp("", "mesosgate-demo-")
	if err != nil {
		return failed("demo", err, stderr, 1)
	}
	defer os.RemoveAll(pkiDir)
	pki, err := demoPKI(src.CAFile(), pkiDir)
	if err != nil {
		return failed("demo", err, stderr, 1)
	}

	cluster, err := sim.Start(sim.Options{
		MasterModes: demoMasterModes,
		Modes:       demoAgentModes,
		WebUIDir:    g.WebUIDir,
		PKI:         pki,
		Name:        "mesosgate-demo",
		Logger:      slog.New(log.Handler()).With("component", "sim"),
	})
	if err != nil {
		return failed("demo", fmt.Errorf("start the simulated cluster: %w", err), stderr, 1)
	}
	defer cluster.Close()

	for _, m := range cluster.Masters() {
		g.Masters = append(g.Masters, config.Master{Address: m.Addr()})
	}
	g.WebUIDir = "" // the leader serves it, as a real master would
	// The members' certificates come from the same CA: the dashboard and
	// the probe report them as verified (verification itself stays off,
	// as in a stock libprocess client).
	g.TLS.CAFile = src.CAFile()
	if hooks.links != "" {
		g.Links = hooks.links
	}
	err = server.Run(ctx, g, server.RunOptions{
		Logger:       log,
		Certificates: src,
		Version:      version(),
		Ready: func(url string) {
			printDemo(stdout, url, src.CAFile(), cluster)
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

// demoPKI issues the simulated members' certificates (sim.PKI) from the
// internal CA whose certificate is caFile (its key lies next to it, as
// tlsx.InternalOptions documents).
func demoPKI(caFile, dir string) (*sim.PKI, error) {
	ca, err := tlsx.LoadCAFiles(caFile, filepath.Join(filepath.Dir(caFile), "mesosgate-ca-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("load the internal CA: %w", err)
	}
	return sim.NewPKIWithCA(ca, dir)
}

// printDemo says what to open and what to trust, then what runs behind.
func printDemo(w io.Writer, url, caFile string, c *sim.Cluster) {
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name(), "plain-only", f.UI().HostPort(), url+"/service/"+f.Name()+"/")
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
