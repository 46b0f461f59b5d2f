package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/server"
)

// probeCommand exits 0 when every member is reachable, 1 when discovery
// worked but some member is not (the report says why), and 2 for bad
// settings or when no configured master could be discovered from.
func probeCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	p, err := config.LoadProbe(args, environ)
	if err != nil {
		return loadFailed("probe", err, stdout, stderr)
	}
	warn("probe", p.Warnings, stderr)
	report, discoveryErr := server.Probe(ctx, p, errorLog(stderr))
	if report == nil {
		return failed("probe", discoveryErr, stderr, 2)
	}
	if p.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		return failed("probe", fmt.Errorf("writing the report: %w", err), stderr, 1)
	}
	if discoveryErr != nil {
		// No configured master led to a cluster: a setting the user can
		// fix (SPEC section 3 counts an unreachable master among those).
		fmt.Fprintf(stderr, "mesosgate probe: %s\n", discoveryErr)
		return 2
	}
	if !report.Reachable() {
		return 1
	}
	return 0
}

// errorLog is the log of the commands that print their results: errors
// only, on stderr.
func errorLog(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// failed prints an error, one line per problem, and returns code.
func failed(name string, err error, stderr io.Writer, code int) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "mesosgate %s: %s\n", name, line)
	}
	return code
}
