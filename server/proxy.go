package server

import (
	"context"
	"io"
	"log"
	"mime"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the reverse proxy: one httputil.ReverseProxy for the whole
// gateway, whose hooks find the request's exchange in its context (set by
// the route's handler). Bodies stream both ways; nothing is buffered
// whole. Rewrite applies the request's upstream.Destination and sets the
// forwarding headers; the Transport is upstream's (it dials the
// destination, re-probes and retries), bounded by the response header
// timeout; ModifyResponse runs the link rewriter for the destination's
// prefix and scheme.

// exchange is one proxied request on its way. Route handlers make it; the
// proxy's hooks read it.
type exchange struct {
	// dest is where the request goes, as upstream decided: every hook
	// reads it (the transport may move it to another scheme on a retry,
	// or to the next leader).
	dest *upstream.Destination
	// transport sends the request: upstream's, or the --webui-dir files'.
	transport http.RoundTripper
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
			g.fail(w, r, err)
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

// proxy sends the request to its destination through transport and
// streams the answer back.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, d *upstream.Destination, transport http.RoundTripper) {
	q := requestOf(r)
	ex := &exchange{dest: d, transport: transport, q: q, links: g.links.mappers(g.opts.Cluster),
		origin: origin(r, q.trusted), document: isDocument(r)}
	q.ex = ex
	ctx, end := context.WithCancel(upstream.WithDestination(context.WithValue(r.Context(), exchangeKey{}, ex), d))
	ex.end = end
	defer end()
	defer g.streams.remove(ex)
	g.reverse.ServeHTTP(w, r.WithContext(ctx))
}

// rewriteRequest addresses the outgoing request to its destination and
// says who asked (forwarding headers, the request id).
func (g *Gateway) rewriteRequest(pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In.Context())
	out := pr.Out
	// The gateway's own credentials (a bearer token, its cookies) are
	// consumed here and never reach a member or framework UI.
	access.StripCredentials(out.Header)
	ex.dest.Rewrite(out)
	setForwarded(pr, ex.q.trusted, ex.dest.Route.Prefix)
	// Members are asked for gzip or identity only: the codings the
	// rewriter reads. A browser that takes no gzip gets identity from
	// the member, with nothing to decode on the way.
	if ex.q.gzip {
		out.Header.Set("Accept-Encoding", "gzip")
	} else {
		out.Header.Set("Accept-Encoding", "identity")
	}
	out.Header.Set("X-Request-Id", ex.q.id)
	// Via marks the request as this gateway's: if it comes back (a
	// webui_url that leads to the gateway), the gateway answers 508.
	out.Header.Add("Via", "1.1 "+g.via)
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
	page := rewrite.Page{Prefix: ex.dest.Route.Prefix, Scheme: ex.dest.Scheme, Gateway: ex.origin, Counts: g.metrics.rewriteCounts(ex.q),
		CookiePrefix: ex.dest.CookiePrefix()}
	if ex.dest.Route.Kind == upstream.KindFrameworkHost {
		// A framework UI on its own origin: links into the gateway carry
		// the gateway's.
		page.Origin, page.Gateway = ex.origin, g.gatewayOrigin()
	}
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
		d.metrics.upstreamHeader(ex.q.class, ex.dest.Scheme, time.Since(start))
	}
	return resp, err
}

// roundTrip sends the request, waiting at most headerTimeout for a
// member's response header. A framework UI's is awaited as long as the
// client waits: its API is its own, and a long poll that holds its header
// until it has news (a blocking query, a watch) is as quiet as a stuck
// app; so is an agent's answer to a v1 call that holds it by design
// (WAIT_NESTED_CONTAINER until the container exits: access.Operation.Holds).
// The client leaving ends the wait.
func (d dispatcher) roundTrip(ex *exchange, req *http.Request) (*http.Response, error) {
	rt := ex.transport
	if d.headerTimeout <= 0 || ex.dest.Framework != nil || ex.q.write != nil && ex.q.write.Holds() {
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

// refOf names a destination in problems and logs.
func refOf(d *upstream.Destination) web.Ref {
	switch {
	case d.Member != nil:
		return web.Ref{Role: webRole(d.Member.Role), ID: d.Member.ID, Address: d.Address}
	case d.Framework != nil:
		return web.Ref{Role: web.RoleFrameworkUI, ID: d.Framework.Name, Address: d.Address}
	}
	return web.Ref{Role: web.RoleLeader, Address: d.Address}
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
