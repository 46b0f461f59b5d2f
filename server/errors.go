package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the one place where errors become HTTP statuses (STYLE:
// Caddy's statusError). upstream's errors carry their Reason; the client
// gets a web.Problem, short and in words for people, with the request id;
// the log gets the error itself under the same id. Internal error text
// never reaches the client.
//
//	client gone                      499 (logged only; nothing is sent)
//	request body stalled             408 RequestTimeout
//	no response header in time       504 UpstreamTimeout
//	upstream.ReasonTimeout           504 UpstreamTimeout, with the bound
//	connection and TLS failures      502 Unreachable, with the reason
//	upstream.ReasonUnknown, NoWebUI  404 UnknownAgent/UnknownFramework/UnknownMaster
//	upstream.ReasonNoLeader          503 NoLeader
//	upstream.ReasonStale             503 Stale
//	upstream.ReasonNotReady          503 NotDiscovered
//	upstream.ReasonForbidden         403 AddressRefused (the address policy)
//	upstream.ReasonBusy              503 Busy (too many requests in flight)
//	anything else                    500 Internal

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
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	q := requestOf(r)
	if clientGone(r, err) && !q.bodyStalled.Load() {
		q.gone = true // the access line says so (cut.go)
		return
	}
	var ref web.Ref
	member := ""
	if q.ex != nil {
		ref = refOf(q.ex.dest)
		member = refString(ref)
	}
	p, level := problemFor(err, ref)
	if q.bodyStalled.Load() {
		p, level = web.RequestTimeout(), slog.LevelInfo // the client's doing, whatever the member made of it
		err = fmt.Errorf("the request body went quiet for %s (body idle timeout): %w", g.bodyIdle, err)
		w.Header().Set("Connection", "close")
	}
	g.log.Log(context.WithoutCancel(r.Context()), level, "request failed",
		"request_id", q.id, "method", r.Method, "path", r.URL.Path, "target", q.target,
		"member", member, "status", p.Status, "err", err)
	g.pages.WriteProblem(w, r, p)
}

// clientGone reports whether err means the client went away, not that the
// member failed: the request's own context ended.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, r.Context().Err()))
}

// problemFor maps an error to the problem the client gets and the level
// it is logged at; ref names the member the request was for, when the
// error does not.
func problemFor(err error, ref web.Ref) (web.Problem, slog.Level) {
	var hte *headerTimeoutError
	var ue *upstream.Error
	switch {
	case errors.As(err, &hte):
		return web.UpstreamTimeout(ref, hte.after), slog.LevelWarn
	case errors.As(err, &ue):
		return upstreamProblem(ue)
	}
	return web.Internal(), slog.LevelError
}

// upstreamProblem maps upstream's reasons. What the cluster map says (an
// unknown agent, no leader) is logged at info; a member that fails, at
// warn.
func upstreamProblem(e *upstream.Error) (web.Problem, slog.Level) {
	ref := web.Ref{Role: webRole(e.Role), ID: e.ID, Address: e.Address}
	if e.Role == "" && e.ID != "" {
		ref.Role = web.RoleFrameworkUI
	}
	switch e.Reason {
	case upstream.ReasonNotReady:
		return web.NotDiscovered(), slog.LevelInfo
	case upstream.ReasonUnknown, upstream.ReasonNoWebUI:
		switch e.Kind {
		case upstream.KindAgent:
			return web.UnknownAgent(e.Key), slog.LevelInfo
		case upstream.KindMaster:
			return web.UnknownMaster(e.Key), slog.LevelInfo
		}
		return web.UnknownFramework(e.Key), slog.LevelInfo
	case upstream.ReasonNoLeader:
		return web.NoLeader(), slog.LevelInfo
	case upstream.ReasonStale:
		cause := ""
		if e.Err != nil {
			cause = e.Err.Error()
		}
		return web.Stale(e.Age, e.Limit, cause), slog.LevelInfo
	case upstream.ReasonTLSRequired:
		return web.Unreachable(ref, "it speaks plain HTTP only, and the gateway runs with --upstream-tls=required"), slog.LevelInfo
	case upstream.ReasonTimeout:
		return web.UpstreamTimeout(ref, e.Timeout), slog.LevelWarn
	case upstream.ReasonForbidden:
		return web.AddressRefused(ref, e.Detail), slog.LevelWarn
	case upstream.ReasonBusy:
		return web.Busy(ref), slog.LevelWarn
	case upstream.ReasonInternal:
		return web.Internal(), slog.LevelError
	}
	return web.Unreachable(ref, e.Detail), slog.LevelWarn
}
