package rewrite

import (
	"bytes"

	"golang.org/x/net/html"
)

// startTag handles a start tag: raw-text and foreign-content tracking, the
// runtime's injection before the first tag that is not inert, and the
// rewriting of its URL attributes.
func (r *htmlReader) startTag(raw []byte, selfClosing bool) {
	e := elementOf(tagName(raw))
	r.track(e, selfClosing)
	r.attrs, _ = scanTag(raw, r.attrs[:0])
	if r.inject && !r.inert(e, raw) {
		r.injectRuntime()
	}
	r.out, _ = r.rewriteTag(r.out, e, raw)
}

// track mirrors the tokenizer's raw-text state and follows foreign
// content, where <style>, <script> and <title> hold markup, not text.
func (r *htmlReader) track(e element, selfClosing bool) {
	switch {
	case e == elSVG || e == elMath:
		if !selfClosing {
			r.foreign++
		}
	case e == elBreakout:
		r.foreign, r.svgStyle = 0, false
	}
	if !e.raw() {
		return
	}
	if r.foreign > 0 {
		r.z.NextIsNotRawText()
		// An SVG <style> holds CSS, read as markup.
		r.svgStyle = e == elStyle && !selfClosing
		return
	}
	// The tokenizer reads raw text after these start tags, self-closing
	// or not.
	switch e {
	case elPlaintext:
		r.rawTag = "plaintext"
	case elStyle:
		r.rawTag, r.styleNext = "style", true
	default:
		r.rawTag = "raw"
	}
}

// inert reports whether a start tag may come before the runtime: the
// document's own structure and the head's metadata that runs nothing
// (a <meta charset> must stay within the page's first bytes). A meta
// Content-Security-Policy is not inert: the runtime goes before it, out of
// its reach.
func (r *htmlReader) inert(e element, raw []byte) bool {
	switch e {
	case elHTML, elHead, elTitle, elBase:
		return true
	case elMeta:
		return !equalFoldTrim(r.attrValue(raw, "http-equiv"), "content-security-policy")
	}
	return false
}

// rewriteTag appends the start tag raw, whose attributes are in r.attrs,
// to dst with its URL attributes mapped, and reports whether any changed.
func (r *htmlReader) rewriteTag(dst []byte, e element, raw []byte) ([]byte, bool) {
	if len(r.attrs) == 0 {
		return append(dst, raw...), false
	}
	refresh := e == elMeta && equalFoldTrim(r.attrValue(raw, "http-equiv"), "refresh")
	last := 0
	for _, a := range r.attrs {
		if a.vs < 0 {
			continue
		}
		name := raw[a.ks:a.ke]
		k := attrKind(name)
		switch k {
		case kindNone:
			continue
		case kindData:
			if e != elObject {
				continue
			}
			k = kindURL
		case kindContent:
			if !refresh {
				continue
			}
		}
		v, ok := r.rewriteValue(k, raw[a.vs:a.ve], a.quote)
		if ok {
			dst = append(dst, raw[last:a.vs]...)
			dst = append(dst, v...)
			last = a.ve
		}
		if e == elBase && k == kindURL && !r.baseSeen && equalFold(name, "href") {
			r.baseSeen = true
			t := []byte(attrText(raw[a.vs:a.ve]))
			if out, n, ok := r.c.mapURL(nil, t); ok {
				t = append(out, t[n:]...)
			}
			r.c.setBase(t)
		}
	}
	return append(dst, raw[last:]...), last > 0
}

// rewriteValue returns the raw bytes that replace the raw value v of a URL
// attribute of kind k, quoted with quote (0 for none), and true; or false
// when the value does not change. The result is only valid until the next
// call.
func (r *htmlReader) rewriteValue(k valueKind, v []byte, quote byte) ([]byte, bool) {
	amp := bytes.IndexByte(v, '&')
	if k == kindURL && (amp < 0 || bytes.IndexAny(v[:amp], "?#") >= 0) {
		// The mapping reads no further than a URL's path, so character
		// references in its query or fragment stay exactly as written.
		out, n, ok := r.c.mapURL(r.val[:0], v)
		if !ok {
			return nil, false
		}
		r.val = append(out, v[n:]...)
		return r.val, true
	}
	text := v
	if amp >= 0 {
		text = []byte(html.UnescapeString(string(v)))
	}
	var out []byte
	var ok bool
	switch k {
	case kindURL:
		var n int
		if out, n, ok = r.c.mapURL(r.val[:0], text); ok {
			out = append(out, text[n:]...)
		}
	case kindSrcset:
		out, ok = r.c.appendSrcset(r.val[:0], text)
	case kindList:
		out, ok = r.c.appendList(r.val[:0], text)
	case kindCSS:
		out, ok = r.c.appendCSS(r.val[:0], text)
	case kindContent:
		out, ok = r.c.appendRefresh(r.val[:0], text)
	}
	if !ok {
		return nil, false
	}
	r.val = out
	if amp >= 0 {
		// The value had character references: write it escaped again.
		r.tag = escapeAttr(r.tag[:0], out, quote)
		return r.tag, true
	}
	// Every byte of out was in v or is part of a gateway prefix or an
	// authority taken from v: nothing needs escaping or quoting.
	return out, true
}

// escapeAttr appends v escaped for an attribute value quoted with quote,
// adding double quotes to a value that had none.
func escapeAttr(dst, v []byte, quote byte) []byte {
	if quote == 0 {
		dst = append(dst, '"')
		dst = appendEscaped(dst, v, '"')
		return append(dst, '"')
	}
	return appendEscaped(dst, v, quote)
}

// appendEscaped appends v with "&" and quote written as references.
func appendEscaped(dst, v []byte, quote byte) []byte {
	for _, b := range v {
		switch {
		case b == '&':
			dst = append(dst, "&amp;"...)
		case b == quote && b == '"':
			dst = append(dst, "&quot;"...)
		case b == quote && b == '\'':
			dst = append(dst, "&#39;"...)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// attrValue returns the raw value of the first attribute of the current
// tag named name, or nil.
func (r *htmlReader) attrValue(raw []byte, name string) []byte {
	for _, a := range r.attrs {
		if a.vs >= 0 && equalFold(raw[a.ks:a.ke], name) {
			return raw[a.vs:a.ve]
		}
	}
	return nil
}

// attrText returns a raw attribute value with its character references
// decoded.
func attrText(v []byte) string {
	if bytes.IndexByte(v, '&') < 0 {
		return string(v)
	}
	return html.UnescapeString(string(v))
}

// equalFoldTrim reports whether b, without surrounding whitespace, equals
// the lower-case ASCII s ignoring case.
func equalFoldTrim(b []byte, s string) bool {
	return equalFold(bytes.TrimFunc(b, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }), s)
}
