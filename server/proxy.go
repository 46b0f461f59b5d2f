package server

import (
	"context"
	"io"
	"log"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the reverse proxy: one httputil.ReverseProxy for the whole
// gateway, whose hooks find the request's destination in its context (an
// exchange, set by the route's handler). Bodies stream both ways; nothing
// is buffered whole. Rewrite addresses the request to the member and sets
// its forwarding headers; the Transport is the member's own (upstream
// picks the scheme, re-probes and retries), bounded by the response header
// timeout; ModifyResponse runs the link rewriter.

// backend is where a route sends its requests.
type backend struct {
	// url is the member's or framework UI's base URL: scheme and host
	// (the transport decides both again for members), and for a framework
	// UI the path of its webui_url.
	url *url.URL
	// transport reaches the member: upstream's per-member RoundTripper.
	transport http.RoundTripper
	// ref names the member in problems and logs.
	ref web.Ref
}

// exchange is one proxied request on its way: what the path named and
// where it goes. Route handlers make it; the proxy's hooks read it.
type exchange struct {
	backend backend
	// prefix is the route's gateway prefix as the browser sent it
	// (escaped): "" for the leader at the root, "/mesos", "/agent/S1",
	// "/service/marathon", ... Pages are rewritten for it.
	prefix string
	// path is the escaped path to request from the member.
	path string
	// links are the mappers of the cluster's generation.
	links *builtMapper
	// document is whether the browser loads the response as a document
	// (see isDocument).
	document bool
	// origin is the gateway's origin as the browser sees it
	// ("https://gw:8443"), for pages whose <base> points elsewhere.
	origin string
	q      *request
	// end ends the request's context: shutdown ends streams with it.
	end context.CancelFunc
}

type exchangeKey struct{}

func exchangeOf(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// buffers are the proxy's copy buffers: one per response in flight, so a
// download costs the same memory whatever its size.
type buffers struct{ pool sync.Pool }

const copyBufferSize = 64 << 10

func (b *buffers) Get() []byte {
	if v, ok := b.pool.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, copyBufferSize)
}

func (b *buffers) Put(p []byte) {
	if cap(p) == copyBufferSize {
		p = p[:copyBufferSize]
		b.pool.Put(&p)
	}
}

// newProxy makes the gateway's reverse proxy.
func (g *Gateway) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        g.rewriteRequest,
		Transport:      dispatcher{headerTimeout: g.headerTimeout, metrics: g.metrics},
		ModifyResponse: g.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ex := exchangeOf(r.Context())
			g.fail(w, r, ex.backend.ref, err)
		},
		// ReverseProxy flushes every write of a response whose length is
		// unknown (chunked: long polls, streamed pages, and every page the
		// rewriter changed) and of event streams, so those reach the
		// browser as the member sends them. A response of known length is
		// complete when its bytes are: it goes out as the server's buffer
		// fills, without a flush (a syscall) per write.
		FlushInterval: 0,
		BufferPool:    &g.buffers,
		// What ReverseProxy logs itself (a member gone mid-body) has no
		// request id; the access log line of the aborted response says
		// it instead (releasingBody keeps the error).
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

// proxy serves the request from the exchange's backend.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, ex *exchange) {
	ex.q = requestOf(r)
	ex.q.ref = refString(ex.backend.ref)
	ex.origin = origin(r, ex.q.trusted)
	ex.document = isDocument(r)
	ctx, end := context.WithCancel(context.WithValue(r.Context(), exchangeKey{}, ex))
	ex.end = end
	defer end()
	defer g.streams.remove(ex)
	g.reverse.ServeHTTP(w, r.WithContext(ctx))
}

// rewriteRequest addresses the outgoing request to the member.
func (g *Gateway) rewriteRequest(pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In.Context())
	out := pr.Out
	u := *out.URL
	u.Scheme = ex.backend.url.Scheme
	u.Host = ex.backend.url.Host
	u.Path, u.RawPath = unescapedPath(ex.path)
	u.Opaque, u.User, u.Fragment, u.RawFragment = "", nil, "", ""
	out.URL = &u
	// The transport sends the member's own host:port (libprocess and
	// framework UIs see the name they registered), not the gateway's.
	out.Host = ""
	setForwarded(pr, ex.q.trusted, ex.prefix)
	// Members are asked for gzip or identity only: the codings the
	// rewriter reads. A browser that takes no gzip gets identity from
	// the member, with nothing to decode on the way.
	if ex.q.gzip {
		out.Header.Set("Accept-Encoding", "gzip")
	} else {
		out.Header.Set("Accept-Encoding", "identity")
	}
	out.Header.Set("X-Request-Id", ex.q.id)
}

// modifyResponse rewrites the member's response for the browser.
func (g *Gateway) modifyResponse(resp *http.Response) error {
	ex := exchangeOf(resp.Request.Context())
	if isStream(resp) {
		g.streams.add(ex, ex.end)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		ex.q.switched = true
	}
	body := resp.Body
	page := rewrite.Page{Prefix: ex.prefix, Gateway: ex.origin, Counts: g.metrics.rewriteCounts(ex.q)}
	if err := ex.links.forPage(ex.document, &g.links).RewriteResponse(resp, page); err != nil {
		return err
	}
	ex.q.rewritten = resp.Body != body
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		// The runtime goes into documents only.
		resp.Header.Add("Vary", "Sec-Fetch-Dest")
	}
	if !ex.q.gzip && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") && resp.StatusCode != http.StatusSwitchingProtocols {
		// Asked for identity, sent gzip anyway: decode for the browser.
		resp.Body = &gunzipBody{body: resp.Body}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	}
	return nil
}

// dispatcher is the proxy's Transport: it hands each request to its
// member's RoundTripper, bounds the wait for the response's header, and
// times it for the metrics.
type dispatcher struct {
	headerTimeout time.Duration
	metrics       *Metrics // nil: none
}

func (d dispatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchangeOf(req.Context())
	start := time.Now()
	resp, err := d.roundTrip(ex, req)
	if err == nil && d.metrics != nil {
		scheme := req.URL.Scheme
		if resp.Request != nil {
			scheme = resp.Request.URL.Scheme // as the member's transport decided
		}
		d.metrics.upstreamHeader(ex.q.class, scheme, time.Since(start))
	}
	return resp, err
}

// roundTrip sends the request, waiting at most headerTimeout for the
// response header.
func (d dispatcher) roundTrip(ex *exchange, req *http.Request) (*http.Response, error) {
	rt := ex.backend.transport
	if d.headerTimeout <= 0 {
		resp, err := rt.RoundTrip(req)
		if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
			resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() {}, q: ex.q}
		}
		return resp, err
	}
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(d.headerTimeout, cancel)
	resp, err := rt.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() && req.Context().Err() == nil {
		// The timer fired: whatever came back came too late.
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &headerTimeoutError{after: d.headerTimeout}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the upgraded connection (an io.ReadWriteCloser the
		// proxy needs as it is); the request's own context ends it.
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: cancel, q: ex.q}
	return resp, nil
}

// releasingBody releases the request's context when the proxy is done with
// the body, and keeps the error that cut it short for the access log.
type releasingBody struct {
	io.ReadCloser
	release context.CancelFunc
	q       *request
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.q.bodyErr == nil {
		b.q.bodyErr = err
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// unescapedPath returns the decoded path and the escaped form to keep
// (RawPath), for an escaped path that came from a request: the member
// receives the bytes the browser sent. RawPath is kept even when nothing
// is escaped: Go would otherwise escape "(" and ")" on the way out, and
// "/slave(1)/state" would reach the member as "/slave%281%29/state".
func unescapedPath(escaped string) (path, raw string) {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		// Cannot happen for a path net/http parsed; send it as it was.
		return escaped, ""
	}
	return p, escaped
}

// isDocument reports whether the browser loads the response as a document
// (a page, a frame, a pop-up), as its Sec-Fetch-Dest says; a client that
// does not say is taken to. Only documents get the rewriter's runtime: HTML
// that a script fetches is data for the page whose runtime already runs.
// AngularJS fetches its templates so and inserts them with jQuery, which
// runs their scripts; a runtime injected there would run a second time
// and, removing its own script element, break jQuery (the stock Mesos
// WebUI's home page stays blank).
func isDocument(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "", "document", "iframe", "frame", "embed", "object":
		return true
	}
	return false
}

// isStream reports a response that lasts until one side leaves: an event
// stream or an upgraded connection.
func isStream(resp *http.Response) bool {
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return true
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "text/event-stream"
}

// origin is the gateway's origin as the request's client sees it: behind
// a trusted proxy, as that proxy says it received the request.
func origin(r *http.Request, trusted bool) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if trusted {
		if v := r.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			scheme = v
		}
		if v := r.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
	}
	return scheme + "://" + host
}

// refString names a member for the log: "agent S1 (10.0.0.5:5051)".
func refString(ref web.Ref) string {
	s := string(ref.Role)
	if ref.ID != "" {
		s += " " + ref.ID
	}
	if ref.Address != "" {
		s += " (" + ref.Address + ")"
	}
	return strings.TrimSpace(s)
}
