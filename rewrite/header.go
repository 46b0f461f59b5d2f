package rewrite

import (
	"net/http"
	"strings"
)

// rewriteHeader maps the URLs of a response's headers: Location,
// Content-Location, Refresh and Link; and moves cookies under the page's
// prefix, dropping their Domain (the browser only ever sees the gateway's
// host).
func (c *pageContext) rewriteHeader(h http.Header) {
	for _, name := range []string{"Location", "Content-Location"} {
		vs := h[name]
		for i, v := range vs {
			vs[i] = c.mapString(v)
		}
	}
	for i, v := range h["Refresh"] {
		if out, ok := c.appendRefresh(nil, []byte(v)); ok {
			h["Refresh"][i] = string(out)
		}
	}
	for i, v := range h["Link"] {
		h["Link"][i] = c.rewriteLink(v)
	}
	for i, v := range h["Set-Cookie"] {
		h["Set-Cookie"][i] = c.rewriteCookie(v)
	}
	c.confineWorkerScope(h)
}

// confineWorkerScope keeps a Service-Worker-Allowed header within the
// page's prefix: mapped like a Location, and dropped when it still points
// outside (a framework UI's worker may control its own pages, never the
// gateway's or another's). At the root (the leader) it stays as it is.
func (c *pageContext) confineWorkerScope(h http.Header) {
	const name = "Service-Worker-Allowed"
	vs := h[name]
	if len(vs) == 0 || c.prefix == "" {
		return
	}
	for _, v := range vs {
		mapped := c.mapString(strings.TrimSpace(v))
		if !hasPathPrefix([]byte(mapped), c.prefix) {
			h.Del(name)
			return
		}
		h.Set(name, mapped)
	}
}

// mapString maps one URL held in a string.
func (c *pageContext) mapString(u string) string {
	out, n, ok := c.mapURL(nil, []byte(u))
	if !ok {
		return u
	}
	return string(out) + u[n:]
}

// rewriteLink maps the URL of every link-value ("<url>; rel=...") of a
// Link header (RFC 8288). Quoted parameter values are skipped, so a "<" in
// one starts no URL.
func (c *pageContext) rewriteLink(v string) string {
	b := []byte(v)
	e := spanEditor{src: b}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '<':
			end := strings.IndexByte(v[i+1:], '>')
			if end < 0 {
				return e.result(v)
			}
			e.mapURL(c, i+1, i+1+end)
			i += end + 1
		}
	}
	return e.result(v)
}

// result returns the edited text, or v when nothing changed.
func (e *spanEditor) result(v string) string {
	out, ok := e.finish()
	if !ok {
		return v
	}
	return string(out)
}

// rewriteCookie moves a Set-Cookie's Path under the page's prefix and drops
// its Domain, leaving every other byte as it was.
func (c *pageContext) rewriteCookie(v string) string {
	parts := strings.Split(v, ";")
	out := make([]string, 1, len(parts))
	out[0] = parts[0]
	changed := false
	if c.cookiePrefix != "" {
		out[0], changed = prefixCookie(parts[0], c.cookiePrefix), true
	}
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(p, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "domain":
			changed = true
			continue
		case "path":
			path := strings.TrimSpace(value)
			if c.prefix != "" && strings.HasPrefix(path, "/") && !hasPathPrefix([]byte(path), c.prefix) {
				lead := value[:strings.Index(value, path)]
				p = name + "=" + lead + c.prefix + path
				changed = true
			}
		}
		out = append(out, p)
	}
	if !changed {
		return v
	}
	return strings.Join(out, ";")
}

// prefixCookie gives a cookie's name=value the prefix, after the
// browser's own __Host- or __Secure- prefix when it has one (which must
// stay first to mean anything).
func prefixCookie(nameValue, prefix string) string {
	lead := nameValue[:len(nameValue)-len(strings.TrimLeft(nameValue, " "))]
	nv := nameValue[len(lead):]
	for _, p := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(nv, p) {
			return lead + p + prefix + nv[len(p):]
		}
	}
	return lead + prefix + nv
}

// rewriteEntity adjusts the headers of a response whose body the rewriter
// changes: its length is no longer known, a strong validator no longer
// holds (a weak one still does: the rewritten page means the same), and
// ranges of the member's bytes are not ranges of ours.
func rewriteEntity(resp *http.Response) {
	h := resp.Header
	h.Del("Content-Length")
	resp.ContentLength = -1
	if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
		h.Set("Etag", "W/"+et)
	}
	h.Del("Accept-Ranges")
	h.Del("Content-Md5")
}
