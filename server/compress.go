package server

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// This file is content coding on both sides of the proxy. Members are asked
// for gzip or identity only, the two codings the rewriter decodes (libprocess
// gzips bodies of 1 KiB and more when asked). Toward the browser, a body
// that arrives uncompressed (a rewritten page, which the rewriter decoded,
// or a member that compressed nothing) is coded as it streams, zstd or
// gzip as the browser prefers, when the type is worth it (newCoder); a
// gzipped body the browser cannot take is decoded.

// minCompressSize is the smallest known body length worth compressing:
// below it the gzip header and trailer and the CPU cost outweigh the gain
// (libprocess uses the same bound).
const minCompressSize = 1024

// acceptsGzip reports whether an Accept-Encoding header allows gzip: named
// (or x-gzip, or *) with a non-zero quality. It decides what members are
// asked for; newCoder negotiates the browser's own coding.
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

// newCoder wraps h with the content coding toward browsers: gzhttp's
// negotiation (RFC 9110 q-values; zstd where the browser accepts it, as
// Chromium and Firefox do, else gzip), klauspost/compress's encoders at
// their fastest levels, pooled. A body is coded only from minCompressSize
// bytes (a body of unknown length is held until then or until a flush, so
// streamed pages still go out as they are rewritten), only for
// compressible types, never for a range, a body the member coded itself, a
// download (Content-Disposition: attachment) or no-transform
// (codingRules). A coded response's ETag gets the coding as a suffix, and
// its Accept-Ranges goes.
//
// On the 1 MB listing page (klauspost/compress v1.20.5, one core): gzip
// level 1 codes 3.3 GB/s where compress/gzip manages 1.45, to 26.5 KB;
// zstd's fastest level 3.7 GB/s, to 9.5 KB.
func newCoder(h http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(minCompressSize),
		gzhttp.CompressionLevel(gzip.BestSpeed),
		gzhttp.EnableZstd(true),
		gzhttp.ZstdCompressionLevel(int(zstd.SpeedFastest)),
		gzhttp.ContentTypeFilter(compressible),
		// A missing Content-Type is never sniffed (a member's bytes
		// must not become a type the browser runs).
		gzhttp.SetContentType(false),
		gzhttp.SuffixETag("-gzip"),
	)
	if err != nil {
		panic(err) // the options above are constant
	}
	return wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&codingRules{ResponseWriter: w}, r)
	}))
}

// codingRules marks, as its header is written, a response the gateway
// must pass byte for byte: a download, or one that says no-transform.
type codingRules struct {
	http.ResponseWriter
	decided bool
}

func (c *codingRules) WriteHeader(status int) {
	if !c.decided && status >= 200 {
		c.decided = true
		if h := c.Header(); keepCoding(h) {
			h.Set(gzhttp.HeaderNoCompression, "1")
		}
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *codingRules) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the coder and the connection
// (Flush, Hijack for WebSockets, deadlines).
func (c *codingRules) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// keepCoding reports a response whose body must reach the browser as the
// member sent it.
func keepCoding(h http.Header) bool {
	if cd := h.Get("Content-Disposition"); cd != "" {
		if d, _, _ := mime.ParseMediaType(cd); d == "attachment" {
			// A download is the user's file, byte for byte and at full speed.
			return true
		}
	}
	return strings.Contains(strings.ToLower(h.Get("Cache-Control")), "no-transform")
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
