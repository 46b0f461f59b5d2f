package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// runProbe is `mesosgate probe`: discover the cluster once, probe every
// member, print a table or JSON.
func runProbe(args, environ []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return probeCommand(ctx, args, environ, stdout, stderr)
}

// probeCommand exits 0 when every member is reachable, 1 when discovery
// worked but some member is not (the report says why), and 2 for bad
// settings or when no configured master could be discovered from.
func probeCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	p, err := config.LoadProbe(args, environ)
	if err != nil {
		return loadFailed("probe", err, stdout, stderr)
	}
	warn("probe", p.Warnings, stderr)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// probe only connects: ENABLED (the accepting side) does not apply,
	// and must not demand a certificate the probe has no use for.
	settings := p.TLS
	settings.Enabled = tlsx.Unset
	tlsContext, err := tlsx.NewContext(settings, tlsx.Options{Name: p.SSLName, Logger: logger, ReloadInterval: -1})
	if err != nil {
		return failed("probe", err, stderr, 2)
	}
	defer tlsContext.Close()
	cluster, err := upstream.New(probeConfig(p, tlsContext, logger))
	if err != nil {
		return failed("probe", err, stderr, 2)
	}
	defer cluster.Close()

	discoveryErr := cluster.Refresh(ctx)
	cluster.ProbeAll(ctx)
	report := cluster.Report()
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
		fmt.Fprintf(stderr, "mesosgate probe: %s; check %s\n", discoveryErr, p.Name("master"))
		return 2
	}
	if !report.Reachable() {
		return 1
	}
	return 0
}

// probeConfig turns probe's settings into the cluster's configuration:
// one discovery by polling, no SUBSCRIBE stream.
func probeConfig(p *config.Probe, tlsContext *tlsx.Context, logger *slog.Logger) upstream.Config {
	cfg := upstream.Config{TLS: tlsContext, ProbeTimeout: p.Timeout, NoSubscribe: true, Logger: logger}
	for _, m := range p.Masters {
		cfg.Masters = append(cfg.Masters, upstream.Master{Scheme: m.Scheme, Address: m.Address})
	}
	if p.MasterCredentials != "" {
		cfg.Credentials = &upstream.Credentials{Principal: p.MasterCredential.Principal, Secret: p.MasterCredential.Secret}
	}
	return cfg
}

// failed prints an error, one line per problem, and returns code.
func failed(name string, err error, stderr io.Writer, code int) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "mesosgate %s: %s\n", name, line)
	}
	return code
}
