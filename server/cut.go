package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// This file names why a response ended before its end: every response the
// gateway cuts, or sees cut, is one access log line with the request id, a
// cut reason and what happened in words (logRequest writes it). The
// reasons, and where each is decided:
//
//	panic        a handler panicked after the header was sent (recoverPanic)
//	shutdown     the gateway shut down: streams ended at once, other
//	             requests cut at ShutdownTimeout (Serve, streams.endAll)
//	stall        a write to the client stayed blocked for StallTimeout: the
//	             client takes nothing (recorder.arm, recorder.failed)
//	body-idle    the client's request body went quiet for BodyIdleTimeout
//	             after the response had begun (idleBody)
//	client-gone  the client closed the connection or reset the stream
//	member-body  the member's body broke off: reset, closed early, bad
//	             coding (releasingBody)
//	aborted      none of these could be told (never expected)
//
// The levels say whose doing it was: a client leaving is debug (browsers
// end event streams and downloads whenever a page goes), a shutdown or a
// quiet request body info, the rest warn.

// Cut reasons, as logged in the access line's "cut" attribute.
const (
	cutPanic      = "panic"
	cutShutdown   = "shutdown"
	cutStall      = "stall"
	cutBodyIdle   = "body-idle"
	cutClientGone = "client-gone"
	cutMember     = "member-body"
	cutAborted    = "aborted"
)

// cutOf returns why the response to r ended early, what happened in words
// and the level to log it at; reason is "" for a response that ended as
// it should (an answer of any status, the member's complete body).
func (g *Gateway) cutOf(r *http.Request, q *request, rec *recorder) (reason, detail string, level slog.Level) {
	stream := q.shutdown.Load()
	if !rec.aborted && !q.gone && !stream {
		return "", "", 0
	}
	switch {
	case rec.panicked:
		return cutPanic, "the handler panicked after the response began (the panic is logged under the same request id)", slog.LevelWarn
	case stream:
		return cutShutdown, "the gateway shut down, which ends streams at once (browsers reconnect them)", slog.LevelInfo
	case g.closing.Load():
		return cutShutdown, "the gateway shut down, and the request was still running at the shutdown timeout", slog.LevelInfo
	case rec.stalled:
		return cutStall, "the client took nothing for " + g.stall.String() + " (stall timeout): " + rec.writeErr.Error(), slog.LevelWarn
	case q.bodyStalled.Load():
		return cutBodyIdle, "the request body went quiet for " + g.bodyIdle.String() + " (body idle timeout)", slog.LevelInfo
	case q.gone || rec.writeErr != nil || r.Context().Err() != nil:
		return cutClientGone, "the client went away" + errSuffix(": write to the client: %s", rec.writeErr), slog.LevelDebug
	case q.bodyErr != nil:
		return cutMember, "read from the member: " + q.bodyErr.Error(), slog.LevelWarn
	}
	return cutAborted, "the response was aborted", slog.LevelWarn
}

// errSuffix formats err into format, or returns "" for nil.
func errSuffix(format string, err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf(format, err)
}

// stallOf reports whether a write that began at start and failed with err
// failed because the stall deadline passed: it was armed and the write
// waited that long (over HTTP/2 the error is the stream's reset, not a
// timeout, so the time waited is what tells).
func stallOf(err error, armed bool, start time.Time, stall time.Duration) bool {
	return err != nil && armed && stall > 0 && time.Since(start) >= stall
}
