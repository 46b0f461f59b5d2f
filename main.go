// Command mesosgate is an HTTPS gateway for Apache Mesos clusters: it serves
// the Mesos WebUI, agent sandboxes and frameworks' web UIs to browsers over
// HTTPS under one certificate while the cluster behind it migrates to SSL.
//
// This file is the command line only: it picks the subcommand, hands its
// arguments to the package that owns the work, and turns errors into one
// line and an exit status.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// command is one subcommand: a one-line summary for the usage text and the
// function that runs it. run returns the process exit status.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands that work. A subcommand appears here only
// once it does what SPEC section 3 says.
var commands = map[string]command{
	"sim":     {"run a simulated Mesos cluster on loopback", runSim},
	"version": {"print the version and exit", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
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
	return cmd.run(args[1:], stdout, stderr)
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

func runVersion(args []string, stdout, stderr io.Writer) int {
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
