package sim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
)

// Authentication realms, as Mesos names them (src/master/constants.hpp,
// src/slave/constants.hpp). libprocess answers 401 with
// `WWW-Authenticate: Basic realm="<realm>"` on every endpoint routed with a
// realm; /health, /redirect, /version and the WebUI's files have none.
const (
	RealmMasterReadOnly  = "mesos-master-readonly"
	RealmMasterReadWrite = "mesos-master-readwrite"
	RealmAgentReadOnly   = "mesos-agent-readonly"
	RealmAgentReadWrite  = "mesos-agent-readwrite"
)

// Credentials are the one principal and secret members accept with HTTP
// basic authentication (Mesos's --credentials with --authenticate_http_*).
type Credentials struct {
	Principal string
	Secret    string
}

// authorized checks basic authentication for an endpoint of realm and,
// when it fails, answers 401 the way libprocess's basic authenticator does.
func (c *Cluster) authorized(w http.ResponseWriter, r *http.Request, realm string) bool {
	if c.opts.Auth == nil {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(user), []byte(c.opts.Auth.Principal)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(c.opts.Auth.Secret)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	text(w, http.StatusUnauthorized, "401 Unauthorized.")
	return false
}

// text answers a plain-text body with a status, as libprocess's
// Response(body, code) does.
func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// Statuses with libprocess's default bodies.
func notFound(w http.ResponseWriter) { text(w, http.StatusNotFound, "404 Not Found.") }
func badRequest(w http.ResponseWriter, msg string) {
	text(w, http.StatusBadRequest, msg)
}

// writeJSON answers v as libprocess's OK(json, jsonp) does: with a "jsonp"
// query parameter (even an empty one) the body is `<jsonp>(<json>)` as
// text/javascript, else the JSON as application/json. Like libprocess, the
// callback name is used as given.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // stout writes <, > and & as they are
	if err := enc.Encode(v); err != nil {
		text(w, http.StatusInternalServerError, "encode JSON: "+err.Error())
		return
	}
	writeJSONBytes(w, r, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// writeJSONBytes answers already encoded JSON, wrapped for JSONP as
// writeJSON describes.
func writeJSONBytes(w http.ResponseWriter, r *http.Request, body []byte) {
	ctype := "application/json"
	if q := r.URL.Query(); q.Has("jsonp") {
		ctype = "text/javascript"
		cb := q.Get("jsonp")
		wrapped := make([]byte, 0, len(cb)+len(body)+2)
		wrapped = append(append(append(append(wrapped, cb...), '('), body...), ')')
		body = wrapped
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// appendRawString appends s as a JSON string the way stout (rapidjson)
// writes one: quotes, backslashes and control characters escaped, every
// other byte as it is, so file contents that are not UTF-8 come through
// unchanged (Go's encoder would replace them).
func appendRawString(dst []byte, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, '"')
	for _, b := range s {
		switch {
		case b == '"':
			dst = append(dst, '\\', '"')
		case b == '\\':
			dst = append(dst, '\\', '\\')
		case b == '\n':
			dst = append(dst, '\\', 'n')
		case b == '\r':
			dst = append(dst, '\\', 'r')
		case b == '\t':
			dst = append(dst, '\\', 't')
		case b == '\b':
			dst = append(dst, '\\', 'b')
		case b == '\f':
			dst = append(dst, '\\', 'f')
		case b < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, '"')
}
