package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/mesosgate/mesosgate/web"
)

// This file is the one place where errors become HTTP statuses (STYLE:
// Caddy's statusError). The client gets a web.Problem, short and in words
// for people, with the request id; the log gets the error itself under the
// same id. Internal error text never reaches the client.
//
//	client gone               499 (logged only; nothing is sent)
//	member too slow           504 UpstreamTimeout
//	member unreachable        502 Unreachable, with the probe's reason
//	unknown agent/framework   404 UnknownAgent/UnknownFramework/UnknownMaster
//	no leader                 503 NoLeader
//	cluster map stale         503 Stale
//	not discovered yet        503 (notDiscovered)
//	anything else             500 Internal

// headerTimeoutError is a member that accepted a request but sent no
// response header within the gateway's ResponseHeaderTimeout.
type headerTimeoutError struct{ after time.Duration }

func (e *headerTimeoutError) Error() string {
	return fmt.Sprintf("no response header within %s", e.after)
}

// Timeout marks it as a timeout for net.Error checks.
func (e *headerTimeoutError) Timeout() bool { return true }

// fail answers a request that could not be served: a problem page (unless
// the client is gone or the response has begun) and a log line.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, ref web.Ref, err error) {
	q := requestOf(r)
	if clientGone(r, err) {
		q.gone = true
		g.log.Debug("client went away", "request_id", q.id, "path", r.URL.Path, "err", err)
		return
	}
	p, level := g.problemFor(ref, err)
	g.log.Log(context.WithoutCancel(r.Context()), level, "request failed",
		"request_id", q.id, "method", r.Method, "path", r.URL.Path, "target", q.target,
		"member", q.ref, "status", p.Status, "err", err)
	g.pages.WriteProblem(w, r, p)
}

// clientGone reports whether err means the client went away, not that the
// member failed: the request's own context ended.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, r.Context().Err()))
}

// problemFor maps an error to the problem the client gets and the level
// it is logged at. ref names the member the request was for.
func (g *Gateway) problemFor(ref web.Ref, err error) (web.Problem, slog.Level) {
	if p, ok := g.clusterProblem(ref, err); ok {
		return p, slog.LevelInfo
	}
	var hte *headerTimeoutError
	if errors.As(err, &hte) {
		return web.UpstreamTimeout(ref, hte.after), slog.LevelWarn
	}
	if isTimeout(err) {
		return web.UpstreamTimeout(ref, g.probeTimeout), slog.LevelWarn
	}
	if reason := connectionFailure(err); reason != "" {
		return web.Unreachable(ref, reason), slog.LevelWarn
	}
	return internalProblem(), slog.LevelError
}

// internalProblem is the 500; the log has the details.
func internalProblem() web.Problem { return web.Internal() }

// isTimeout reports a timeout anywhere in err's chain.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connectionFailure names, in a few words fit for a problem page, why a
// connection to a member failed; "" when err is not about the connection.
func connectionFailure(err error) string {
	var rhe tls.RecordHeaderError
	var cve *tls.CertificateVerificationError
	var ae tls.AlertError
	var oe *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the connection was reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the member's host"
	case errors.As(err, &cve):
		return "its certificate did not verify: " + cve.Err.Error()
	case errors.As(err, &rhe):
		return "it did not answer TLS as TLS"
	case errors.As(err, &ae):
		return "the TLS handshake failed: " + ae.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "it closed the connection without answering"
	case errors.As(err, &oe):
		return "the connection failed (" + oe.Op + ")"
	}
	return ""
}
