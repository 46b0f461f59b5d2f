package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// simOptions turns sim's settings into the cluster's options. The mode
// names were checked by config; ParseModes cannot fail on them.
func simOptions(c *config.Sim) (sim.Options, error) {
	masterModes, err := sim.ParseModes(strings.Join(c.MasterModes, ","))
	if err != nil {
		return sim.Options{}, fmt.Errorf("%s: %w", c.Name("master-modes"), err)
	}
	modes, err := sim.ParseModes(strings.Join(c.Modes, ","))
	if err != nil {
		return sim.Options{}, fmt.Errorf("%s: %w", c.Name("modes"), err)
	}
	opts := sim.Options{
		Masters:     max(c.Masters, 1),
		MasterModes: masterModes,
		Agents:      c.Agents,
		Modes:       modes,
		WebUIDir:    c.WebUIDir,
		Dir:         c.Dir,
		Name:        "mesosgate-sim",
		ZK:          c.ZK,
		ZKProtobuf:  c.ZKProtobuf,
	}
	if c.Agents == 0 {
		opts.Modes = nil // zero agents, not one per mode
	}
	return opts, nil
}

// simCommand runs the cluster until ctx ends. Bad flags exit 2 with one
// line each; a cluster that cannot start exits 1.
func simCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	c, err := config.LoadSim(args, environ)
	if err != nil {
		return loadFailed("sim", err, stdout, stderr)
	}
	warn("sim", c.Warnings, stderr)
	opts, err := simOptions(c)
	if err != nil {
		fmt.Fprintf(stderr, "mesosgate sim: %v\n", err)
		return 2
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cluster, err := sim.Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "mesosgate sim: start the cluster: %v\n", err)
		return 1
	}
	printCluster(stdout, cluster)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping the simulated cluster")
	if err := cluster.Close(); err != nil {
		fmt.Fprintf(stderr, "mesosgate sim: %v\n", err)
		return 1
	}
	return 0
}

// printCluster prints what SPEC section 3 promises: the masters' URLs with
// the scheme each speaks, the agents with their modes, and the CA to trust.
func printCluster(w io.Writer, c *sim.Cluster) {
	masters, agents, frameworks := c.Masters(), c.Agents(), c.Frameworks()
	fmt.Fprintf(w, "Simulated Mesos cluster on loopback: %d masters, %d agents, %d frameworks.\n\n", len(masters), len(agents), len(frameworks))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER\tMODE\tURL\tID")
	for _, m := range masters {
		role := "standby"
		if m.Leading() {
			role = "leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", role, m.Mode(), memberURLs(m.Member), m.ID())
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "AGENT\tMODE\tURL\tPID")
	for _, a := range agents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID(), a.Mode(), memberURLs(a.Member), a.PID())
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "FRAMEWORK\tWEB UI\tID")
	for _, f := range frameworks {
		ui := f.WebUIURL()
		if ui == "" {
			ui = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name(), ui, f.ID())
	}
	tw.Flush()
	certFile, keyFile := c.ClientCertFiles()
	fmt.Fprintf(w, "\nCA to trust for the SSL members: %s\n", c.CAFile())
	fmt.Fprintf(w, "Client certificate for ssl-clientcert members: %s (key %s)\n", certFile, keyFile)
	fmt.Fprintf(w, "Cluster files: %s\n", c.Dir())
	if zk := c.ZK(); zk != "" {
		fmt.Fprintf(w, "Masters registered in ZooKeeper: %s\n", zk)
	}
	if l := c.Leader(); l != nil {
		fmt.Fprintf(w, "WebUI: %s/\n", l.URL())
	}
	fmt.Fprintln(w, "\nRunning until interrupted (Ctrl-C).")
}

// memberURLs names the URLs a member answers: both schemes for downgrade.
func memberURLs(m *sim.Member) string {
	switch m.Mode() {
	case sim.Downgrade:
		return m.URL() + " (and http://" + m.HostPort() + ")"
	case sim.SSLClientCert:
		return m.URL() + " (client certificate required)"
	}
	return m.URL()
}
