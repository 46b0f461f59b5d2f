package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// runSim is `mesosgate sim`: a simulated Mesos cluster on loopback until
// SIGINT or SIGTERM.
func runSim(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return simCommand(ctx, args, stdout, stderr)
}

// simFlags are the flags of `mesosgate sim`.
type simFlags struct {
	masters     int
	masterModes string
	agents      int
	modes       string
	webuiDir    string
	dir         string
}

func (f *simFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.masters, "masters", 1, "how many masters to run; the first leads")
	fs.StringVar(&f.masterModes, "master-modes", "plain", "each master's mode, by commas: plain, downgrade, ssl, ssl-clientcert (a shorter list repeats its last entry)")
	fs.IntVar(&f.agents, "agents", 4, "how many agents to run")
	fs.StringVar(&f.modes, "modes", "plain,downgrade,ssl,ssl", "each agent's mode, by commas (a shorter list repeats its last entry)")
	fs.StringVar(&f.webuiDir, "webui-dir", "", "serve this Mesos WebUI directory (src/webui of a Mesos source tree) instead of the simulator's own")
	fs.StringVar(&f.dir, "dir", "", "keep certificates, logs and sandboxes in this directory (default: a temporary directory removed on exit)")
}

// options checks the flags and turns them into the cluster's options,
// reporting every problem at once.
func (f *simFlags) options() (sim.Options, error) {
	var errs []error
	if f.masters < 1 {
		errs = append(errs, fmt.Errorf("--masters %d: run at least one master", f.masters))
	}
	if f.agents < 0 {
		errs = append(errs, fmt.Errorf("--agents %d: give zero or more agents", f.agents))
	}
	masterModes, err := sim.ParseModes(f.masterModes)
	if err != nil {
		errs = append(errs, fmt.Errorf("--master-modes: %w", err))
	}
	modes, err := sim.ParseModes(f.modes)
	if err != nil {
		errs = append(errs, fmt.Errorf("--modes: %w", err))
	}
	if f.webuiDir != "" {
		if _, err := os.Stat(filepath.Join(f.webuiDir, "index.html")); err != nil {
			errs = append(errs, fmt.Errorf("--webui-dir %s: no index.html there; give src/webui of a Mesos source tree", f.webuiDir))
		}
	}
	opts := sim.Options{
		Masters:     f.masters,
		MasterModes: masterModes,
		Agents:      f.agents,
		Modes:       modes,
		WebUIDir:    f.webuiDir,
		Dir:         f.dir,
		Name:        "mesosgate-sim",
	}
	if f.agents == 0 {
		opts.Modes = nil // zero agents, not one per mode
	}
	return opts, errors.Join(errs...)
}

// simCommand runs the cluster until ctx ends. Bad flags exit 2 with one
// line; a cluster that cannot start exits 1.
func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f simFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: mesosgate sim [flags]\n\nRuns a simulated Mesos cluster on loopback until interrupted.\n\nflags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "mesosgate sim: %v; run \"mesosgate sim -h\" for the flags\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mesosgate sim: unexpected argument %q; run \"mesosgate sim -h\" for the flags\n", fs.Arg(0))
		return 2
	}
	opts, err := f.options()
	if err != nil {
		fmt.Fprintf(stderr, "mesosgate sim: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 2
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := sim.Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "mesosgate sim: start the cluster: %v\n", err)
		return 1
	}
	printCluster(stdout, c)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping the simulated cluster")
	if err := c.Close(); err != nil {
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
