package rewrite

import (
	"bytes"
	"errors"
	"io"

	"golang.org/x/net/html"
)

// htmlReader rewrites an HTML page as it is read: the URL attributes of
// SPEC section 8, <base href>, meta refresh, url() and @import in <style>
// and style attributes, and the runtime injected first in <head>.
//
// The x/net/html tokenizer reads every comment, doctype and raw-text run
// (script, style, title, textarea, ...), everything before the runtime is
// in, everything in foreign content (SVG, MathML), and every start tag the
// rewriter changes: such a tag is written as the tokenizer's Raw bytes
// with only the changed values spliced in. What nothing can change is
// copied byte for byte straight from the input instead: text in the data
// state, up to the next "<" that starts a tag (where the tokenizer ends a
// text token), and tags that do not change, whose end and attributes
// scanTag finds by the tokenizer's own rules (FuzzScanTag holds the two to
// the same answer on any input); a tag that changes is rewritten from
// scanTag's reading too. This keeps the tokenizer's per-byte reads and its
// two allocations per attribute off most of a page: a sandbox listing,
// two rewritten links a row, rewrites at about 800 MB/s on one core, where
// the tokenizer alone manages about 150. To
// pick up after bytes it did not see, the tokenizer is fed one tag at a
// time (up to the next ">"), so it holds none of its own between tokens.
//
// Reads are pull-based: each Read returns as soon as it has output and
// the next token is not yet complete in what the member has sent, so the
// first bytes reach the browser before the member finishes, and no
// goroutine is needed.
type htmlReader struct {
	c    *pageContext
	src  io.Reader
	z    *html.Tokenizer
	feed feed

	in     []byte // bytes read from src
	ir, iw int    // in[ir:iw] is not yet consumed
	inErr  error  // src's error (io.EOF at the end)

	out []byte // output not yet returned
	op  int    // out[op:] is pending
	// ext holds the runtime's large parts (the table and the script),
	// returned from the Mapper's copies once out[op:] reaches extAt.
	ext   [][]byte
	extAt int
	extN  int // bytes in ext

	started bool // the start of the page was sniffed
	first   bool // nothing of the page has been written yet
	inject  bool // the runtime is still to be injected
	pass    bool // copy everything from here on unchanged
	done    bool
	err     error // returned once out is drained and done is set

	rawTag    string // the raw-text element the tokenizer reads next ("" in the data state)
	styleNext bool   // the next text token is a <style>'s content
	svgStyle  bool   // inside an SVG <style>, whose text is CSS but not raw
	foreign   int    // depth of <svg> and <math> elements
	baseSeen  bool   // the first <base href> was handled

	attrs []attr // scratch for a start tag's attributes
	tag   []byte // scratch for a rebuilt start tag
	val   []byte // scratch for a rewritten value
}

// feed hands the tokenizer input one tag at a time.
type feed struct{ r *htmlReader }

// newHTMLReader returns a reader of src rewritten for the page c.
func newHTMLReader(c *pageContext, src io.Reader) *htmlReader {
	r := &htmlReader{
		c:      c,
		src:    src,
		in:     make([]byte, 32<<10),
		first:  true,
		inject: !c.m.noRuntime,
	}
	r.feed.r = r
	r.z = html.NewTokenizer(&r.feed)
	r.z.SetMaxBuf(c.m.maxToken)
	return r
}

// Read implements io.Reader.
func (r *htmlReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.op == len(r.out) && r.extN == 0 {
		r.out, r.op = r.out[:0], 0
	}
	for r.pending() < len(p) && !r.done {
		// Block for input only while there is nothing to return.
		if !r.step(r.pending() == 0) {
			break
		}
	}
	if r.pending() == 0 {
		return 0, r.err
	}
	n := 0
	for n < len(p) {
		if r.extN > 0 && r.op == r.extAt {
			c := copy(p[n:], r.ext[0])
			n += c
			r.extN -= c
			if r.ext[0] = r.ext[0][c:]; len(r.ext[0]) == 0 {
				r.ext = r.ext[1:]
			}
			continue
		}
		end := len(r.out)
		if r.extN > 0 {
			end = r.extAt
		}
		if r.op == end {
			break
		}
		c := copy(p[n:], r.out[r.op:end])
		n += c
		r.op += c
	}
	return n, nil
}

// pending returns the number of output bytes not yet returned.
func (r *htmlReader) pending() int { return len(r.out) - r.op + r.extN }

// step processes the next piece of the page. Unless block is set it
// returns false instead of waiting for input.
func (r *htmlReader) step(block bool) bool {
	switch {
	case !r.started:
		return r.start(block)
	case r.pass:
		return r.passStep(block)
	case r.rawTag == "" && len(r.z.Buffered()) == 0:
		if handled, progressed := r.fastStep(block); handled {
			return progressed
		}
	}
	if !block && !r.ready() {
		return false
	}
	r.tokenStep()
	return true
}

// start sniffs the beginning of the page: a UTF-16 or UTF-32 byte order
// mark means a page this rewriter cannot read, which passes unchanged; a
// UTF-8 one goes out first, before the runtime.
func (r *htmlReader) start(block bool) bool {
	if r.iw-r.ir < 3 && r.inErr == nil {
		if !block {
			return false
		}
		r.fill()
		return true
	}
	r.started = true
	b := r.in[r.ir:r.iw]
	switch {
	case len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE):
		r.pass, r.inject = true, false
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		r.out = append(r.out, b[:3]...)
		r.ir += 3
	}
	return true
}

// passStep copies input to output unchanged.
func (r *htmlReader) passStep(block bool) bool {
	if r.ir < r.iw {
		r.out = append(r.out, r.in[r.ir:r.iw]...)
		r.ir = r.iw
		return true
	}
	if r.inErr != nil {
		r.finish(r.inErr)
		return true
	}
	if !block {
		return false
	}
	r.fill()
	return true
}

// fastStep handles, without the tokenizer, text in the data state and
// tags that do not change (see htmlReader). It reports whether it handled
// the next piece, and whether it made progress.
func (r *htmlReader) fastStep(block bool) (handled, progressed bool) {
	buf := r.in[r.ir:r.iw]
	if len(buf) < 2 && r.inErr == nil {
		// A lone "<" at the end needs the next byte to know what it is.
		if !block {
			return true, false
		}
		r.fill()
		return true, true
	}
	if len(buf) == 0 || r.svgStyle {
		return false, false // the tokenizer reports the end, or reads the CSS whole
	}
	if buf[0] != '<' || len(buf) == 1 || !tagStartByte(buf[1]) {
		i := textEnd(buf, r.inErr != nil)
		r.text(buf[:i])
		r.ir += i
		return true, true
	}
	if r.inject || r.foreign > 0 {
		return false, false
	}
	switch {
	case isAlpha(buf[1]):
		return r.fastTag(buf, block)
	case buf[1] == '/':
		if n := plainEndTag(buf); n > 0 {
			r.out = append(r.out, buf[:n]...)
			r.ir += n
			return true, true
		}
	}
	return false, false
}

// fastTag handles the start tag at the start of buf in the data state.
// A tag that does not change is copied; one that changes, and any tag that
// opens raw text, foreign content or a <base>, goes to the tokenizer.
func (r *htmlReader) fastTag(buf []byte, block bool) (handled, progressed bool) {
	var end int
	r.attrs, end = scanTag(buf, r.attrs[:0])
	if end < 0 {
		// A tag cut short by the end of the page, or larger than the
		// buffer, is the tokenizer's.
		if r.inErr != nil || len(buf) == len(r.in) {
			return false, false
		}
		if !block {
			return true, false
		}
		r.fill()
		return true, true
	}
	if end >= r.c.m.maxToken {
		// Over the token limit: the tokenizer stops there, and the
		// rest of the page passes unchanged (tokenStep).
		return false, false
	}
	raw := buf[:end]
	e := elementOf(tagName(raw))
	if e.raw() || e == elSVG || e == elMath || e == elBase {
		return false, false
	}
	// scanTag ends the tag where the tokenizer would and reads its
	// attributes as the tokenizer does (FuzzScanTag holds the two to the
	// same answer on any input), so a tag that changes is rewritten here
	// too, without the tokenizer's per-byte reads of it.
	r.out, _ = r.rewriteTag(r.out, e, raw)
	r.ir += end
	return true, true
}

// textEnd returns the length of the text at the start of buf: up to the
// first "<" that starts a tag (what the tokenizer would end a text token
// at), keeping back a "<" at the very end unless the input has ended.
func textEnd(buf []byte, atEOF bool) int {
	for i := 1; i < len(buf); {
		j := bytes.IndexByte(buf[i:], '<')
		if j < 0 {
			break
		}
		i += j
		if i+1 == len(buf) {
			if atEOF {
				break
			}
			return i
		}
		if tagStartByte(buf[i+1]) {
			return i
		}
		i++
	}
	return len(buf)
}

// tagStartByte reports whether b after "<" starts a tag, end tag, comment
// or doctype (the x/net/html tokenizer's test).
func tagStartByte(b byte) bool {
	return isAlpha(b) || b == '/' || b == '!' || b == '?'
}

// plainEndTag returns the length of the end tag at the start of buf when
// it is "</name>" with an alphanumeric name, or 0.
func plainEndTag(buf []byte) int {
	i := 2
	for i < len(buf) && (isAlpha(buf[i]) || '0' <= buf[i] && buf[i] <= '9') {
		i++
	}
	if i == 2 || i >= len(buf) || buf[i] != '>' || !isAlpha(buf[2]) {
		return 0
	}
	return i + 1
}

// ready reports whether the tokenizer can likely finish its next token
// with the input at hand: its end is in the bytes buffered.
func (r *htmlReader) ready() bool {
	if r.inErr != nil {
		return true
	}
	if r.rawTag != "" {
		return bytes.Contains(r.z.Buffered(), []byte("</")) || bytes.Contains(r.in[r.ir:r.iw], []byte("</"))
	}
	return bytes.IndexByte(r.z.Buffered(), '>') >= 0 || bytes.IndexByte(r.in[r.ir:r.iw], '>') >= 0
}

// Read hands the tokenizer input up to and including the next ">".
func (f *feed) Read(p []byte) (int, error) {
	r := f.r
	if r.ir == r.iw {
		if r.inErr != nil {
			return 0, r.inErr
		}
		r.fill()
		if r.ir == r.iw {
			return 0, r.inErr
		}
	}
	buf := r.in[r.ir:r.iw]
	if i := bytes.IndexByte(buf, '>'); i >= 0 {
		buf = buf[:i+1]
	}
	n := copy(p, buf)
	r.ir += n
	return n, nil
}

// fill reads once from src into the free space of in.
func (r *htmlReader) fill() {
	if r.ir == r.iw {
		r.ir, r.iw = 0, 0
	} else if r.ir > 0 {
		r.iw = copy(r.in, r.in[r.ir:r.iw])
		r.ir = 0
	}
	for range 100 {
		n, err := r.src.Read(r.in[r.iw:])
		r.iw += n
		if err != nil {
			r.inErr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.inErr = io.ErrNoProgress
}

// tokenStep has the tokenizer read the next token and handles it.
func (r *htmlReader) tokenStep() {
	r.z.AllowCDATA(r.foreign > 0)
	tt := r.z.Next()
	r.handle(tt)
	if tt != html.ErrorToken && len(r.z.Raw()) >= r.c.m.maxToken {
		// The token reached the size limit: the tokenizer cut it there
		// and ends with ErrBufferExceeded at its next token, whichever
		// path would read that one. The rest passes unchanged now.
		r.out = append(r.out, r.z.Buffered()...)
		r.pass, r.inject = true, false
	}
}

// handle handles the token the tokenizer just read.
func (r *htmlReader) handle(tt html.TokenType) {
	z := r.z
	rawTag := r.rawTag
	if rawTag != "plaintext" {
		r.rawTag = ""
	}
	style := r.styleNext
	r.styleNext = false
	switch tt {
	case html.ErrorToken:
		r.tokenError()
	case html.TextToken:
		switch {
		case style:
			r.style(z.Raw())
		case rawTag != "":
			// A raw-text element's content: the element decided the
			// injection already (title is inert, the others are not).
			r.out = append(r.out, z.Raw()...)
		case r.svgStyle:
			r.style(z.Raw())
		default:
			r.text(z.Raw())
		}
	case html.StartTagToken, html.SelfClosingTagToken:
		r.startTag(z.Raw(), tt == html.SelfClosingTagToken)
	case html.EndTagToken:
		r.endTag(z.Raw())
	default: // comments and doctypes
		r.out = append(r.out, z.Raw()...)
	}
	r.first = false
}

// tokenError handles the tokenizer's end: the input's end or error, or a
// token over the size limit, after which the rest passes unchanged.
func (r *htmlReader) tokenError() {
	z := r.z
	err := z.Err()
	// A token cut short by the end of the input still goes out.
	r.out = append(r.out, z.Raw()...)
	r.out = append(r.out, z.Buffered()...)
	switch {
	case errors.Is(err, html.ErrBufferExceeded):
		r.pass, r.inject = true, false
	default:
		r.finish(err)
	}
}

// finish ends the page with err (io.EOF at a clean end), injecting the
// runtime into a page that never gave a better place.
func (r *htmlReader) finish(err error) {
	if r.inject && !r.first && err == io.EOF {
		r.injectRuntime()
	}
	r.done, r.err = true, err
}

// text writes text from the data state, after the runtime if the text is
// the first thing of the page's body.
func (r *htmlReader) text(t []byte) {
	if r.inject && !inertText(t) {
		r.injectRuntime()
	}
	r.out = append(r.out, t...)
	r.first = false
}

// inertText reports whether text before the runtime can stay before it:
// whitespace.
func inertText(t []byte) bool {
	for _, b := range t {
		if !isSpace(b) {
			return false
		}
	}
	return true
}

// injectRuntime writes the runtime once. Its large parts are returned from
// the Mapper's own copies, not copied into out.
func (r *htmlReader) injectRuntime() {
	r.inject = false
	r.out = r.c.appendInjectionHead(r.out)
	r.extAt = len(r.out)
	r.ext = append(r.ext[:0], r.c.m.tableJSON, r.c.m.runtimeTail)
	r.extN = len(r.c.m.tableJSON) + len(r.c.m.runtimeTail)
}

// endTag handles an end tag.
func (r *htmlReader) endTag(raw []byte) {
	e := elementOf(tagName(raw))
	if (e == elSVG || e == elMath) && r.foreign > 0 {
		r.foreign--
	}
	if e == elStyle || r.foreign == 0 {
		r.svgStyle = false
	}
	if r.inject && e != elTitle {
		r.injectRuntime()
	}
	r.out = append(r.out, raw...)
}

// style writes the content of a <style> element with its URLs mapped.
func (r *htmlReader) style(css []byte) {
	if out, ok := r.c.appendCSS(r.out, css); ok {
		r.out = out
		return
	}
	r.out = append(r.out, css...)
}
