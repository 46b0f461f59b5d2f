package rewrite

import "bytes"

// attr locates one attribute in the raw bytes of a start tag.
type attr struct {
	ks, ke int  // the name is raw[ks:ke]
	vs, ve int  // the value is raw[vs:ve]; vs < 0 when there is no value
	quote  byte // '"', '\'' or 0 for an unquoted value
}

// scanTag appends the attributes of the tag at the start of raw (from
// "<name") to attrs and returns the index after its closing ">", or -1
// when raw ends first. It follows the same steps as the x/net/html
// tokenizer's readTag, so that it ends the tag where the tokenizer ends it
// and finds the attributes the tokenizer finds (FuzzScanTag checks both),
// but it reports where they are, keeps duplicates and leaves raw as it is.
func scanTag(raw []byte, attrs []attr) ([]attr, int) {
	n := len(raw)
	i := 1
	// The tag name ends at whitespace (consumed), '/' or '>'.
	for i < n {
		c := raw[i]
		if isSpace(c) {
			i++
			break
		}
		if c == '/' || c == '>' {
			break
		}
		i++
	}
	i = skipSpace(raw, i)
	for i < n && raw[i] != '>' {
		a := attr{ks: i, vs: -1}
		// The name ends at '=' (unless it is the first byte), whitespace,
		// '/' or '>'.
		for i < n {
			c := raw[i]
			if c == '=' && i == a.ks {
				i++
				continue
			}
			if c == '=' || c == '/' || c == '>' || isSpace(c) {
				break
			}
			i++
		}
		a.ke = i
		i = a.scanValue(raw, i)
		if a.ke > a.ks {
			attrs = append(attrs, a)
		}
		i = skipSpace(raw, i)
	}
	if i >= n {
		return attrs, -1
	}
	return attrs, i + 1
}

// scanValue reads the value of a, if any, after its name ends at raw[i],
// and returns the index after it.
func (a *attr) scanValue(raw []byte, i int) int {
	n := len(raw)
	j := skipSpace(raw, i)
	if j >= n {
		return j
	}
	switch raw[j] {
	case '/':
		return j + 1
	case '=':
	default:
		return j
	}
	j = skipSpace(raw, j+1)
	if j >= n {
		return j
	}
	switch q := raw[j]; q {
	case '>':
		a.vs, a.ve = j, j
		return j
	case '"', '\'':
		a.quote = q
		a.vs = j + 1
		e := bytes.IndexByte(raw[a.vs:], q)
		if e < 0 {
			a.ve = n
			return n
		}
		a.ve = a.vs + e
		return a.ve + 1
	}
	a.vs = j
	k := j + 1
	for k < n && raw[k] != '>' && !isSpace(raw[k]) {
		k++
	}
	a.ve = k
	if k < n && isSpace(raw[k]) {
		return k + 1
	}
	return k
}

// tagName returns the name of the tag raw ("<div ...>" or "</div>").
func tagName(raw []byte) []byte {
	i := 1
	if len(raw) > 1 && raw[1] == '/' {
		i = 2
	}
	s := i
	for i < len(raw) && raw[i] != '/' && raw[i] != '>' && !isSpace(raw[i]) {
		i++
	}
	return raw[s:i]
}

// element is what the rewriter needs to know of a tag name.
type element uint8

const (
	elOther element = iota
	elHTML
	elHead
	elBody
	elMeta
	elTitle
	elBase
	elObject
	elStyle
	elScript
	elRawOther // iframe, noembed, noframes, noscript, textarea, xmp
	elPlaintext
	elSVG
	elMath
	elBreakout // HTML elements that end foreign (SVG, MathML) content
)

// raw reports whether the tokenizer reads the element's content as text.
func (e element) raw() bool {
	return e == elTitle || e == elStyle || e == elScript || e == elRawOther || e == elPlaintext
}

// elementOf classifies a tag name, ignoring case.
func elementOf(name []byte) element {
	if len(name) > 10 {
		return elOther
	}
	var buf [10]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "html":
		return elHTML
	case "head":
		return elHead
	case "body":
		return elBody
	case "meta":
		return elMeta
	case "title":
		return elTitle
	case "base":
		return elBase
	case "object":
		return elObject
	case "style":
		return elStyle
	case "script":
		return elScript
	case "iframe", "noembed", "noframes", "noscript", "textarea", "xmp":
		return elRawOther
	case "plaintext":
		return elPlaintext
	case "svg":
		return elSVG
	case "math":
		return elMath
	// The HTML standard's list of start tags that break out of foreign
	// content (tree construction, "in foreign content").
	case "b", "big", "blockquote", "br", "center", "code", "dd", "div", "dl", "dt",
		"em", "embed", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li",
		"listing", "menu", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
		"strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var":
		return elBreakout
	}
	return elOther
}

// valueKind says how an attribute's value holds URLs.
type valueKind uint8

const (
	kindNone    valueKind = iota
	kindURL               // one URL
	kindSrcset            // srcset, imagesrcset
	kindList              // ping: URLs separated by whitespace
	kindCSS               // style
	kindData              // data: a URL on <object> only
	kindContent           // content: a refresh on <meta http-equiv=refresh> only
)

// attrKind classifies an attribute name, ignoring case (SPEC section 8's
// list of URL attributes).
func attrKind(name []byte) valueKind {
	switch len(name) {
	case 3:
		if equalFold(name, "src") {
			return kindURL
		}
	case 4:
		switch {
		case equalFold(name, "href"), equalFold(name, "icon"):
			return kindURL
		case equalFold(name, "data"):
			return kindData
		case equalFold(name, "ping"):
			return kindList
		case equalFold(name, "cite"):
			return kindURL
		}
	case 5:
		if equalFold(name, "style") {
			return kindCSS
		}
	case 6:
		switch {
		case equalFold(name, "action"), equalFold(name, "poster"), equalFold(name, "usemap"):
			return kindURL
		case equalFold(name, "srcset"):
			return kindSrcset
		}
	case 7:
		if equalFold(name, "content") {
			return kindContent
		}
	case 8:
		if equalFold(name, "longdesc") || equalFold(name, "manifest") || equalFold(name, "codebase") {
			return kindURL
		}
	case 10:
		if equalFold(name, "formaction") || equalFold(name, "background") || equalFold(name, "xlink:href") {
			return kindURL
		}
	case 11:
		if equalFold(name, "imagesrcset") {
			return kindSrcset
		}
	}
	return kindNone
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
