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
// The x/net/html tokenizer decides what every tag, comment, doctype and
// raw-text run is; tokens that do not change are copied byte for byte from
// Raw, and a start tag is rebuilt (as its raw bytes with only the changed
// values spliced in) only when one of its URL attributes changes. Two kinds
// of bytes never reach the tokenizer, because nothing in them can change
// and they are where most of a page's bytes are: text in the data state
// (up to the next "<" that starts a tag, exactly where the tokenizer would
// end it) and, once the runtime is in, tags of the plain forms "<name>" and
// "</name>" that open no raw text or foreign content. To resume after
// them, the tokenizer is fed one tag at a time (up to the next ">"), so it
// holds no bytes of its own between tokens.
//
// Reads are pull-based: each Read returns as soon as it has output and
// the next token is not yet complete in what the member has sent, so the
// first bytes reach the browser before the member finishes and no
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

	started bool // the start of the page was sniffed
	first   bool // nothing of the page has been written yet
	inject  bool // the runtime is still to be injected
	pass    bool // copy everything from here on unchanged
	done    bool
	err     error // returned once out is drained and done is set

	rawTag    string // the raw-text element the tokenizer reads next ("" in the data state)
	styleNext bool   // the next text token is a <style>'s content
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
	if r.op == len(r.out) {
		r.out, r.op = r.out[:0], 0
	}
	for len(r.out)-r.op < len(p) && !r.done {
		// Block for input only while there is nothing to return.
		if !r.step(r.op == len(r.out)) {
			break
		}
	}
	if r.op == len(r.out) {
		return 0, r.err
	}
	n := copy(p, r.out[r.op:])
	r.op += n
	return n, nil
}

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
// mark means a page this rewriter cannot read, which passes unchanged.
func (r *htmlReader) start(block bool) bool {
	if r.iw-r.ir < 2 && r.inErr == nil {
		if !block {
			return false
		}
		r.fill()
		return true
	}
	r.started = true
	if b := r.in[r.ir:r.iw]; len(b) >= 2 && (b[0] == 0xFE && b[1] == 0xFF || b[0] == 0xFF && b[1] == 0xFE) {
		r.pass, r.inject = true, false
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
// plain tags (see htmlReader). It reports whether it handled the next
// piece, and whether it made progress.
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
	if len(buf) == 0 {
		return false, false // the tokenizer reports the end
	}
	if buf[0] != '<' || len(buf) > 1 && !tagStartByte(buf[1]) || len(buf) == 1 {
		i := textEnd(buf, r.inErr != nil)
		r.text(buf[:i])
		r.ir += i
		return true, true
	}
	if !r.inject && r.foreign == 0 {
		if n := plainTag(buf); n > 0 {
			r.out = append(r.out, buf[:n]...)
			r.ir += n
			return true, true
		}
	}
	return false, false
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

// plainTag returns the length of the tag at the start of buf when it is
// "<name>" or "</name>" with an alphanumeric name that opens no raw text
// and no foreign content, or 0.
func plainTag(buf []byte) int {
	i := 1
	if buf[1] == '/' {
		i = 2
	}
	s := i
	for i < len(buf) && (isAlpha(buf[i]) || '0' <= buf[i] && buf[i] <= '9') {
		i++
	}
	if i == s || i >= len(buf) || buf[i] != '>' || !isAlpha(buf[s]) {
		return 0
	}
	if s == 1 {
		switch e := elementOf(buf[s:i]); {
		case e.raw(), e == elSVG, e == elMath:
			return 0
		}
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
	z := r.z
	z.AllowCDATA(r.foreign > 0)
	tt := z.Next()
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
	if r.inject && !inertText(t, r.first) {
		r.injectRuntime()
	}
	r.out = append(r.out, t...)
	r.first = false
}

// inertText reports whether text before the runtime can stay before it:
// whitespace, after a byte order mark at the start of the page.
func inertText(t []byte, atStart bool) bool {
	if atStart {
		t = bytes.TrimPrefix(t, []byte("\xEF\xBB\xBF"))
	}
	for _, b := range t {
		if !isSpace(b) {
			return false
		}
	}
	return true
}

// injectRuntime writes the runtime once.
func (r *htmlReader) injectRuntime() {
	r.inject = false
	r.out = r.c.appendInjection(r.out)
}

// endTag handles an end tag.
func (r *htmlReader) endTag(raw []byte) {
	e := elementOf(tagName(raw))
	if (e == elSVG || e == elMath) && r.foreign > 0 {
		r.foreign--
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
