// Command mesosgate is an HTTPS gateway for Apache Mesos clusters: it serves
// the Mesos WebUI, agent sandboxes and frameworks' web UIs to browsers over
// HTTPS under one certificate while the cluster behind it migrates to SSL.
//
// This file is the command line only: it picks the subcommand, hands its
// arguments to the package that owns the work, and turns errors into one
// line and an exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/mesosgate/mesosgate/config"
)

// command is one subcommand: a one-line summary for the usage text and the
// function that runs it with its arguments and the process environment
// (os.Environ's form, so tests need not touch the real one). run returns
// the process exit status.
type command struct {
	summary string
	run     func(args, environ []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands that work. A subcommand appears here only
// once it does what SPEC section 3 says.
var commands = map[string]command{
	"certs":   {"write a CA and one certificate covering every master and agent, for LIBPROCESS_SSL_CERT_FILE", untilSignal(certsCommand)},
	"config":  {"print every effective setting and where it came from", runConfig},
	"demo":    {"run the gateway in front of a simulated mixed-state cluster", untilSignal(demoCommand)},
	"probe":   {"discover a cluster, probe every member for TLS and plain HTTP, show the migration phase", untilSignal(probeCommand)},
	"serve":   {"run the gateway in front of a Mesos cluster", untilSignal(serveCommand)},
	"sim":     {"run a simulated Mesos cluster on loopback", untilSignal(simCommand)},
	"version": {"print the version and exit", runVersion},
}

// untilSignal runs a command until it returns or SIGINT or SIGTERM ends
// its context (a graceful stop for serve, demo and sim).
func untilSignal(cmd func(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int) func(args, environ []string, stdout, stderr io.Writer) int {
	return func(args, environ []string, stdout, stderr io.Writer) int {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cmd(ctx, args, environ, stdout, stderr)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mesosgate: unknown command %q; run \"mesosgate help\" for the list\n", args[0])
		return 2
	}
	startProfiler(environ, stderr)
	return cmd.run(args[1:], environ, stdout, stderr)
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: mesosgate <command> [flags]\n\ncommands:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "  %-8s %s\n", name, commands[name].summary)
	}
	b.WriteString("\nRun \"mesosgate <command> -h\" for a command's flags.\n")
	io.WriteString(w, b.String())
}

func runVersion(args, _ []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "mesosgate version: takes no arguments, got %q\n", args)
		return 2
	}
	fmt.Fprintf(stdout, "mesosgate %s %s %s/%s\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// version is the module version the binary was built from: a tag for
// `go install ...@vX`, "(devel)" for a build from a checkout.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func runConfig(args, environ []string, stdout, stderr io.Writer) int {
	g, err := config.Load("config", args, environ)
	if err != nil {
		return loadFailed("config", err, stdout, stderr)
	}
	warn("config", g.Warnings, stderr)
	if err := g.Print(stdout); err != nil {
		fmt.Fprintf(stderr, "mesosgate config: writing the settings: %v\n", err)
		return 1
	}
	return 0
}

// loadFailed reports a settings loader's error: requested help goes to
// stdout with status 0; problems go to stderr, one line each, with status 2.
func loadFailed(name string, err error, stdout, stderr io.Writer) int {
	var help *config.HelpError
	if errors.As(err, &help) {
		fmt.Fprintf(stdout, "usage: mesosgate %s [flags]\n\nEach flag can also be set by its environment variable; flags win.\n\n%s", name, help.Flags)
		return 0
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "mesosgate %s: %s\n", name, line)
	}
	return 2
}

// warn prints a command's warnings, one line each.
func warn(name string, warnings []string, stderr io.Writer) {
	for _, w := range warnings {
		fmt.Fprintf(stderr, "mesosgate %s: warning: %s\n", name, w)
	}
}
