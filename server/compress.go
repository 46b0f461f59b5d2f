package server

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// This file is content coding on both sides of the proxy. Members are asked
// for gzip or identity only, the two codings the rewriter decodes (libprocess
// gzips bodies of 1 KiB and more when asked). Toward the browser, a body
// that arrives uncompressed (a rewritten page, which the rewriter decoded,
// or a member that compressed nothing) is gzipped as it streams when the
// browser accepts gzip and the type is worth it; a gzipped body the browser
// cannot take is decoded.

// minCompressSize is the smallest known body length worth compressing:
// below it the gzip header and trailer and the CPU cost outweigh the gain
// (libprocess uses the same bound).
const minCompressSize = 1024

// acceptsGzip reports whether an Accept-Encoding header allows gzip: named
// (or x-gzip, or *) with a non-zero quality.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := qvalue(params)
			switch coding {
			case "gzip", "x-gzip":
				return q > 0
			case "*":
				star = q > 0
			}
		}
	}
	return star
}

// qvalue reads "q=0.5" from a parameter list; 1 when absent or unreadable.
func qvalue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return q
			}
		}
	}
	return 1
}

// compressible reports whether a media type is text that gzip shrinks.
// Event streams are left alone: their events are small and must not wait
// in a compressor.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case mt == "text/event-stream":
		return false
	case strings.HasPrefix(mt, "text/"):
		return true
	case strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/x-javascript",
		"application/ecmascript", "application/xml", "application/wasm":
		return true
	}
	return false
}

// shouldCompress decides, from a response's status and headers, whether the
// gateway gzips its body for a browser that accepts gzip.
func shouldCompress(status int, h http.Header) bool {
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified || status == http.StatusPartialContent {
		return false
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	if !compressible(h.Get("Content-Type")) {
		return false
	}
	if d, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); d == "attachment" {
		// A download is the user's file, byte for byte and at full speed.
		return false
	}
	if strings.Contains(strings.ToLower(h.Get("Cache-Control")), "no-transform") {
		return false
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < minCompressSize {
			return false
		}
	}
	return true
}

// gzipWriters recycles compressors: each holds several hundred KiB of
// tables, too much to make per response.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// compressWriter gzips a response's body when shouldCompress says so at
// WriteHeader; otherwise it passes everything through. Flush flushes the
// compressor first, so streamed pages reach the browser as they are
// rewritten.
type compressWriter struct {
	http.ResponseWriter
	gz      *gzip.Writer
	decided bool
}

func (c *compressWriter) WriteHeader(status int) {
	if c.decided || status < 200 {
		c.ResponseWriter.WriteHeader(status)
		return
	}
	c.decided = true
	h := c.Header()
	if compressible(h.Get("Content-Type")) {
		h.Add("Vary", "Accept-Encoding")
	}
	if shouldCompress(status, h) {
		h.Del("Content-Length")
		h.Del("Accept-Ranges")
		h.Set("Content-Encoding", "gzip")
		if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
			// The compressed bytes differ from what the strong tag names.
			h.Set("Etag", "W/"+et)
		}
		c.gz = gzipWriters.Get().(*gzip.Writer)
		c.gz.Reset(c.ResponseWriter)
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.gz != nil {
		return c.gz.Write(p)
	}
	return c.ResponseWriter.Write(p)
}

// FlushError flushes the compressor, then the connection.
func (c *compressWriter) FlushError() error {
	if c.gz != nil {
		if err := c.gz.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Flush implements http.Flusher for callers that do not use a
// ResponseController.
func (c *compressWriter) Flush() { _ = c.FlushError() }

// Unwrap lets http.ResponseController reach the connection (Hijack for
// WebSockets, deadlines).
func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// finish ends the gzip stream (its trailer) after a handler that returned
// normally. A handler that aborted (http.ErrAbortHandler) never gets
// here: the browser then sees a broken stream, as it must.
func (c *compressWriter) finish() error {
	if c.gz == nil {
		return nil
	}
	err := c.gz.Close()
	c.gz.Reset(io.Discard)
	gzipWriters.Put(c.gz)
	c.gz = nil
	return err
}

// gunzipBody replaces a gzipped body with its decoding, for a browser that
// does not accept gzip from a member that sent it anyway.
type gunzipBody struct {
	body io.ReadCloser
	zr   *gzip.Reader
	err  error
}

func (g *gunzipBody) Read(p []byte) (int, error) {
	if g.zr == nil && g.err == nil {
		g.zr, g.err = gzip.NewReader(g.body)
		if g.err == io.EOF {
			g.err = io.EOF // an empty body
		}
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.zr.Read(p)
}

func (g *gunzipBody) Close() error { return g.body.Close() }
