package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/server"
)

// serveCommand runs the gateway until ctx ends. Bad settings, and a
// gateway that cannot start with them (a key that does not load, an
// address in use), exit 2 with one line per problem (SPEC section 3).
func serveCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	g, err := config.Load("serve", args, environ)
	if err != nil {
		return loadFailed("serve", err, stdout, stderr)
	}
	log := newLogger(g, stderr)
	for _, w := range g.Warnings {
		log.Warn(w)
	}
	if err := server.Run(ctx, g, server.RunOptions{Logger: log, Version: version()}); err != nil {
		return failed("serve", err, stderr, 2)
	}
	return 0
}

// newLogger makes the log the settings ask for, on stderr.
func newLogger(g *config.Gateway, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: g.LogLevel}
	if g.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
