package rewrite

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
)

// runtimeJS is the browser runtime: the mapping again, in JavaScript, and
// the hooks that apply it to URLs pages build at run time. It is injected
// as it is, so its CSP hash is fixed for a build.
//
//go:embed runtime.js
var runtimeJS string

// The injection is two elements, first in <head>:
//
//	<script type="application/json" data-mesosgate>{"page":...,"table":...}</script><script>RUNTIME</script>
//
// The runtime reads its configuration from the element before it and
// removes both from the document. The JSON element is data, never run, so
// CSP does not apply to it; the runtime's own text never changes, so one
// hash ('sha256-...') allows it wherever a policy would block it.
const (
	injectOpen  = `<script type="application/json" data-mesosgate>{"page":`
	injectTable = `,"table":`
	injectClose = `}</script><script>`
	injectEnd   = `</script>`
)

// RuntimeHash returns the CSP source expression that allows the injected
// runtime script, such as "'sha256-...'".
func RuntimeHash() string {
	sum := sha256.Sum256([]byte(runtimeJS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// runtimePage is what the runtime learns about the page it runs in.
type runtimePage struct {
	// Prefix is the gateway prefix the page is served under ("" at the
	// root).
	Prefix string `json:"prefix"`
	// Scheme is the scheme the page came from its member with.
	Scheme string `json:"scheme"`
	// Gateway is the gateway's origin when the page is on an origin of
	// its own (a framework UI's, Page.Origin): root-relative URLs stay on
	// the page's origin and links into the gateway name it in full.
	Gateway string `json:"gateway,omitempty"`
}

// appendInjectionHead appends the injection up to the table; the table
// (Mapper.tableJSON) and the rest (Mapper.runtimeTail) follow.
func (c *pageContext) appendInjectionHead(dst []byte) []byte {
	dst = append(dst, injectOpen...)
	rp := runtimePage{Prefix: c.prefix, Scheme: c.scheme}
	if c.own {
		rp.Gateway = c.gateway
	}
	dst = append(dst, mustJSON(rp)...)
	return append(dst, injectTable...)
}

// runtimeTail returns what follows the table in the injection.
func runtimeTail() []byte {
	return []byte(injectClose + runtimeJS + injectEnd)
}
