package rewrite

// refreshURL locates the URL in the value of a Refresh header or of
// <meta http-equiv=refresh content=...>, such as "5; url='/x'", following
// the HTML standard's shared declarative refresh steps. It returns the
// URL's span [s, e) and false when the value has none.
func refreshURL(v []byte) (s, e int, ok bool) {
	n := len(v)
	i := skipSpace(v, 0)
	t := i
	for i < n && ('0' <= v[i] && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == t || i >= n {
		return 0, 0, false
	}
	if v[i] != ';' && v[i] != ',' && !isSpace(v[i]) {
		return 0, 0, false
	}
	i = skipSpace(v, i)
	if i < n && (v[i] == ';' || v[i] == ',') {
		i++
	}
	i = skipSpace(v, i)
	if i >= n {
		return 0, 0, false
	}
	// "url=" is optional; "url" without "=" is part of the URL.
	if i+3 <= n && equalFold(v[i:i+3], "url") {
		j := skipSpace(v, i+3)
		if j < n && v[j] == '=' {
			i = skipSpace(v, j+1)
		}
	}
	if i < n && (v[i] == '"' || v[i] == '\'') {
		q := v[i]
		i++
		e = i
		for e < n && v[e] != q {
			e++
		}
		return i, e, e > i
	}
	e = n
	for e > i && isSpace(v[e-1]) {
		e--
	}
	return i, e, e > i
}

// appendRefresh maps the URL of a refresh value; see refreshURL.
func (c *pageContext) appendRefresh(dst, v []byte) ([]byte, bool) {
	s, end, ok := refreshURL(v)
	if !ok {
		return dst, false
	}
	e := spanEditor{dst: dst, src: v}
	e.mapURL(c, s, end)
	return e.finish()
}
