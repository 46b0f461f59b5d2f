package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/web"
)

// This file is what wraps every request, proxied or not: its id, the
// response recorder behind the access log, the guard against clients that
// stop reading, panics, and HSTS.

// requestIDs encodes ids without padding in lower case: short, safe in a
// header, a URL and a log line.
var requestIDs = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newRequestID returns 80 random bits as 16 characters.
func newRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return requestIDs.EncodeToString(b[:])
}

// request is what the gateway knows about one request while serving it,
// carried in its context.
type request struct {
	id      string
	start   time.Time
	trusted bool // the peer is a configured proxy
	gzip    bool // the client accepts gzip
	// The proxied part, set by a route's handler: empty for the gateway's
	// own pages.
	target string // what was asked for: "agent S1", "leader", ...
	// ex is the proxied exchange, nil for the gateway's own pages: its
	// destination names the member reached.
	ex *exchange
	// class is the route's kind, the metrics' route label; set by the
	// route before anything can fail.
	class routeClass
	// gone records that the client went away before an answer (logged
	// as 499, nginx's "client closed request").
	gone bool
	// switched records a 101 (a WebSocket): the proxy writes its status
	// line on the hijacked connection, past the recorder.
	switched bool
	// rewritten says the rewriter rewrote the page, and rewrite holds
	// its byte counts (metrics only).
	rewritten bool
	rewrite   rewrite.Counts
	// bodyErr is the error that cut the member's body short, for the
	// access log line of an aborted response.
	bodyErr error
	// who and role are the client as access control saw it; write is the
	// write it decided on (nil for a read), refused whether it refused
	// the request. The audit line is made of them.
	who     access.Identity
	role    access.Role
	write   *access.Operation
	refused bool
	// bodyStalled records a request body the client stopped sending
	// (idleBody): the request fails with 408. bodyRead records a body
	// read to its end. Both are set by whichever goroutine reads the body
	// (access control's classifier and the proxy's transport read it on
	// their own) and read by the handler's.
	bodyStalled, bodyRead atomic.Bool
	// shutdown records a stream the gateway's shutdown ended (set by
	// Serve's goroutine while the handler runs).
	shutdown atomic.Bool
}

type requestKey struct{}

// requestOf returns the request state the gateway's middleware put in the
// request's context, or a fresh one outside it (tests of a handler alone).
func requestOf(r *http.Request) *request {
	if q, ok := r.Context().Value(requestKey{}).(*request); ok {
		return q
	}
	return &request{id: newRequestID(), start: time.Now()}
}

// recorder records a response's status and size for the access log and
// bounds how long one write may wait for a client that stopped reading
// (there is no server-wide WriteTimeout: it would cut long downloads and
// event streams). Its Unwrap lets http.ResponseController through to the
// connection.
type recorder struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
	// unread, if set, reports an HTTP/1 request body not read to its end
	// (see final).
	unread func() bool
	status int
	bytes  int64
	armed  bool
	wrote  bool // a write or flush went through the recorder
	// aborted: the response was cut off (http.ErrAbortHandler, or a
	// panic after the header was sent: panicked); writeErr the first
	// failed write or flush to the client, stalled whether it failed
	// because the stall deadline passed.
	aborted  bool
	panicked bool
	writeErr error
	stalled  bool
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.final(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.final(http.StatusOK)
	}
	start := w.arm()
	n, err := w.ResponseWriter.Write(p)
	w.failed(err, start)
	w.clear()
	w.bytes += int64(n)
	return n, err
}

// final records the final status as its header is about to go. An
// HTTP/1 request whose body was not read to its end (a refusal, a 503
// from a member's full bound, a member that answered early) is answered
// on a connection that closes after it: net/http would otherwise read
// what is left of the body before it sends the header (to keep the
// connection for the next request), and a client that stopped sending
// would never get its answer, holding the connection as long as it likes.
func (w *recorder) final(status int) {
	w.status = status
	if w.unread != nil && w.unread() {
		w.Header().Set("Connection", "close")
	}
}

// FlushError flushes under the stall deadline.
func (w *recorder) FlushError() error {
	start := w.arm()
	err := w.rc.Flush()
	w.failed(err, start)
	w.clear()
	return err
}

// failed records the first failed write or flush, begun at start, and
// whether the stall deadline made it fail.
func (w *recorder) failed(err error, start time.Time) {
	if err != nil && w.writeErr == nil {
		w.writeErr = err
		w.stalled = stallOf(err, w.armed, start, w.stall)
	}
}

// Flush implements http.Flusher.
func (w *recorder) Flush() { _ = w.FlushError() }

// Unwrap implements the ResponseController protocol.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// arm sets a write deadline stall ahead for the write about to happen: a
// write that cannot hand its bytes on within that time fails, and the
// handler with it. clear removes it once the write returned, so the
// timeout counts time a write is blocked, never time without data: a
// quiet long poll or event stream lives as long as client and member
// keep it (over HTTP/2 a deadline left set resets the stream when it
// passes, writing or not).
//
// arm returns when the write began.
func (w *recorder) arm() time.Time {
	w.wrote = true
	now := time.Now()
	if w.stall > 0 {
		w.armed = w.rc.SetWriteDeadline(now.Add(w.stall)) == nil
	}
	return now
}

func (w *recorder) clear() {
	if w.armed {
		_ = w.rc.SetWriteDeadline(time.Time{})
		w.armed = false
	}
}

// disarm flushes what is buffered under the stall deadline, as the
// handler returns (never on a connection a WebSocket took over: nothing
// was written through the recorder then).
func (w *recorder) disarm() {
	if w.stall > 0 && w.wrote {
		_ = w.FlushError()
	}
}

// middleware wraps the router (and Options.Observe around it, where
// metrics go): ids, recording, compression, the access log, panics.
func (g *Gateway) middleware(next http.Handler) http.Handler {
	coded := newCoder(next) // compress.go
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			growStack()
		}
		q := &request{
			id:      newRequestID(),
			start:   time.Now(),
			trusted: trusts(g.opts.TrustedProxies, r.RemoteAddr),
			gzip:    acceptsGzip(r.Header.Values("Accept-Encoding")),
		}
		if q.trusted {
			// A trusted proxy's id ties the two logs together.
			if id := r.Header.Get("X-Request-Id"); validRequestID(id) {
				q.id = id
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, q))
		r.Header.Del("X-Request-Id") // the gateway's goes upstream
		rc := http.NewResponseController(w)
		rec := &recorder{ResponseWriter: w, rc: rc, stall: g.stall}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &idleBody{ReadCloser: r.Body, rc: rc, idle: g.bodyIdle, q: q}
			if r.ProtoMajor == 1 {
				rec.unread = func() bool { return !q.bodyRead.Load() }
			}
		}
		h := rec.Header()
		h.Set("X-Request-Id", q.id)
		if g.hsts {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		if g.metrics != nil {
			g.metrics.started()
		}
		defer g.finish(r, q, rec)
		defer g.recoverPanic(rec, r, q, rec)
		coded.ServeHTTP(rec, r)
		rec.disarm()
	})
}

// growStack grows the goroutine's stack, while it is shallow, to what a
// proxied request needs. HTTP/2 runs every request on a new goroutine
// whose stack starts small; the proxy's path (middleware, router, reverse
// proxy, TLS to the member) then grows it by doubling in its deepest
// frames, each growth copying and adjusting every frame above it
// (runtime.copystack: 12% of the gateway's CPU on HTTP/2 in the JSONP
// profile). One growth here, a few frames deep, is cheap. HTTP/1.1 serves
// a connection's requests on one goroutine, whose stack stays grown.
//
//go:noinline
func growStack() {
	var pad [24 << 10]byte
	stackSink(pad[:])
}

//go:noinline
func stackSink(b []byte) { b[0] = 0 }

// validRequestID accepts an id from a trusted proxy only if it is short and
// plain, so it cannot forge log lines or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// hstsValue keeps browsers on HTTPS for a year. It is sent only when the
// front speaks TLS without downgrade: with downgrade on, plain HTTP on the
// same port is meant to work.
const hstsValue = "max-age=31536000"

// recoverPanic turns a handler's panic into a 500 page (when nothing was
// written yet) and a log line with the stack. http.ErrAbortHandler is how
// a streaming handler says "cut the connection" (a member died
// mid-download): it passes on to net/http, which aborts the response so
// the client sees a broken transfer, not a complete one.
func (g *Gateway) recoverPanic(w http.ResponseWriter, r *http.Request, q *request, rec *recorder) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		rec.aborted = true
		panic(v)
	}
	g.log.Error("panic serving request", "request_id", q.id, "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
	if rec.status == 0 {
		g.pages.WriteProblem(w, r, web.Internal())
		return
	}
	rec.aborted, rec.panicked = true, true
	panic(http.ErrAbortHandler)
}

// statusAborted marks, in the access log, a response cut off after its
// header was sent.
const statusAborted = -1

// statusClientGone is nginx's 499: the client closed the connection before
// the gateway answered. It is never sent, only logged.
const statusClientGone = 499

// finish counts a request that has been served into the metrics and logs
// it.
func (g *Gateway) finish(r *http.Request, q *request, rec *recorder) {
	status := rec.status
	switch {
	case status != 0:
	case q.gone:
		status = statusClientGone
	case q.switched:
		status = http.StatusSwitchingProtocols
	case !rec.aborted:
		status = http.StatusOK // net/http's, for a handler that wrote nothing
	}
	if g.metrics != nil {
		g.metrics.finished(q, status, rec.aborted)
	}
	g.audit(r, q, status)
	if rec.aborted {
		status = statusAborted
	}
	g.logRequest(r, q, rec, status)
}

// logRequest writes the access log line at debug level (a WebUI polls
// several endpoints a second) and failures at warn: 5xx of the routes to
// members (the gateway's own 503, readyz before discovery, is an answer
// load balancers poll for). A response that ended early says why in its
// cut and err attributes, at the level of its reason (cut.go): a browser
// leaving a page ends its event streams and downloads, which is no
// failure. Every line carries the request id, which the client got in
// X-Request-Id and the member too.
func (g *Gateway) logRequest(r *http.Request, q *request, rec *recorder, status int) {
	level := slog.LevelDebug
	if status >= 500 && q.class != classGateway {
		level = slog.LevelWarn
	}
	cut, why, cutLevel := g.cutOf(r, q, rec)
	if cut != "" {
		level = cutLevel
	}
	ctx := r.Context()
	if !g.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", q.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(q.start)),
		slog.String("client", clientIP(r, q.trusted)),
		slog.String("proto", r.Proto),
	}
	if q.target != "" {
		attrs = append(attrs, slog.String("target", q.target))
	}
	if q.ex != nil {
		attrs = append(attrs, slog.String("member", refString(refOf(q.ex.dest))))
	}
	if cut != "" {
		attrs = append(attrs, slog.String("cut", cut), slog.String("err", why))
	}
	g.log.LogAttrs(context.WithoutCancel(ctx), level, "request", attrs...)
}

// idleBody is a request body that may not go quiet for longer than idle
// (none when idle is not positive): each read waits at most that long for
// the client's next bytes (a read deadline, per read, so the time after
// the body is not counted). A client that stops sending mid-body (a
// slow-body attack, a stalled upload) fails the read, which ends the
// request and frees the connection to the member it was streaming to. It
// records a body read to its end.
type idleBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	q    *request
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.q.bodyStalled.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	armed := b.idle > 0 && b.rc.SetReadDeadline(time.Now().Add(b.idle)) == nil
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.q.bodyRead.Store(true)
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline stays passed: net/http's own reads of what is
		// left of the body, after the handler, fail at once too, and
		// the connection closes.
		b.q.bodyStalled.Store(true)
		return n, err
	}
	if armed {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
