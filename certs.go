package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/server"
)

// certsCommand exits 0 when the files are written, and 2 for what the
// user can fix: bad settings, no master to discover from, files already
// there, a CA that does not load, a directory that cannot be written.
func certsCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	c, err := config.LoadCerts(args, environ)
	if err != nil {
		return loadFailed("certs", err, stdout, stderr)
	}
	warn("certs", c.Warnings, stderr)
	res, err := server.Certs(ctx, c, errorLog(stderr))
	if err != nil {
		return failed("certs", err, stderr, 2)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "mesosgate certs: note: %s\n", n)
	}
	fmt.Fprintf(stdout, "Found %s and %s; wrote %s.\n\n%s", count(res.Masters, "master", "masters"), count(res.Agents, "agent", "agents"),
		strings.Join(res.Files.Files, ", "), res.Files.Readme)
	return 0
}

// count writes n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
