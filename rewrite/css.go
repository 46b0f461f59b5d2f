package rewrite

import "bytes"

// appendCSS maps the URLs of a style sheet or style attribute, css: those
// in url(...) and the strings of @import. When one changes it returns dst
// with the whole rewritten css appended and true; otherwise dst and false.
// Comments, other strings and escapes are skipped, not interpreted.
func (c *pageContext) appendCSS(dst, css []byte) ([]byte, bool) {
	e := spanEditor{dst: dst, src: css}
	importing := false // after @import, before its first string or url()
	n := len(css)
	for i := 0; i < n; {
		switch b := css[i]; {
		case b == '/' && i+1 < n && css[i+1] == '*':
			end := bytes.Index(css[i+2:], []byte("*/"))
			if end < 0 {
				i = n
			} else {
				i += end + 4
			}
		case b == '"' || b == '\'':
			s, end, next := cssString(css, i)
			if importing && end >= 0 {
				e.mapURL(c, s, end)
			}
			importing = false
			i = next
		case b == '\\':
			i += 2
		case (b == 'u' || b == 'U') && i+4 <= n && equalFold(css[i:i+4], "url(") && (i == 0 || !cssNameByte(css[i-1])):
			i = c.cssURL(&e, css, i+4)
			importing = false
		case b == '@' && i+7 <= n && equalFold(css[i+1:i+7], "import") && (i+7 == n || !cssNameByte(css[i+7])):
			importing = true
			i += 7
		case b == ';' || b == '{' || b == '}':
			importing = false
			i++
		default:
			i++
		}
	}
	return e.finish()
}

// cssURL maps the URL of a url( whose parenthesis ends at css[i-1] and
// returns the index to go on scanning from.
func (c *pageContext) cssURL(e *spanEditor, css []byte, i int) int {
	i = skipCSSSpace(css, i)
	if i >= len(css) {
		return i
	}
	if q := css[i]; q == '"' || q == '\'' {
		s, end, next := cssString(css, i)
		if end >= 0 {
			e.mapURL(c, s, end)
		}
		return next
	}
	s := i
	for i < len(css) {
		switch b := css[i]; {
		case b == ')' || b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f':
			e.mapURL(c, s, i)
			return i
		case b == '"' || b == '\'' || b == '(' || b == '\\':
			// A bad url( token: leave it as it is.
			return i
		}
		i++
	}
	return i
}

// cssString returns the content [s, end) of the string starting with its
// quote at css[i] and the index after it; end is -1 for a string a newline
// or the end of the input cuts short.
func cssString(css []byte, i int) (s, end, next int) {
	q := css[i]
	for j := i + 1; j < len(css); j++ {
		switch css[j] {
		case '\\':
			j++
		case q:
			return i + 1, j, j + 1
		case '\n', '\r', '\f':
			return i + 1, -1, j
		}
	}
	return i + 1, -1, len(css)
}

// cssNameByte reports whether b continues a CSS identifier, so that "url("
// after it is part of another function's name.
func cssNameByte(b byte) bool {
	return isAlpha(b) || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '\\' || b >= 0x80
}

func skipCSSSpace(b []byte, i int) int {
	for i < len(b) && (isSpace(b[i])) {
		i++
	}
	return i
}

// spanEditor rewrites spans of src into dst, copying the bytes between
// them only once something has changed.
type spanEditor struct {
	dst, src []byte
	last     int // src[:last] is already in dst
	changed  bool
	scratch  []byte
}

// mapURL maps the URL src[s:e] in place.
func (e *spanEditor) mapURL(c *pageContext, s, end int) {
	out, n, ok := c.mapURL(e.scratch[:0], e.src[s:end])
	e.scratch = out
	if !ok {
		return
	}
	e.dst = append(e.dst, e.src[e.last:s]...)
	e.dst = append(e.dst, out...)
	e.dst = append(e.dst, e.src[s+n:end]...)
	e.last = end
	e.changed = true
}

// finish returns dst with the rest of src, or dst and false when nothing
// changed.
func (e *spanEditor) finish() ([]byte, bool) {
	if !e.changed {
		return e.dst, false
	}
	return append(e.dst, e.src[e.last:]...), true
}
