package webui

import (
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// This file serves a tree as a master does: GET and HEAD of the files
// behind its mounts, with a Content-Type from the file's extension;
// anything else is libprocess's 404 (or 405 for another method).

var (
	_ http.Handler      = (*Tree)(nil)
	_ http.RoundTripper = (*Tree)(nil)
)

// ServeHTTP serves the file behind r.URL.Path, a path below the master's
// root (see File). A caller that mounts the tree under a prefix strips it
// first.
func (t *Tree) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp := t.respond(r)
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// RoundTrip answers req from the tree as ServeHTTP would, without a
// server: a reverse proxy given the tree as its Transport serves the
// WebUI through the same path as a member's pages (so its HTML is
// rewritten like theirs). The body is the file itself, read as the
// response is; req's URL names the path below the master's root.
func (t *Tree) RoundTrip(req *http.Request) (*http.Response, error) {
	resp := t.respond(req)
	resp.Request = req
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = "HTTP/1.1", 1, 1
	return resp, nil
}

// respond builds the response to r: the file, 404 or 405.
func (t *Tree) respond(r *http.Request) *http.Response {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := status(http.StatusMethodNotAllowed, "405 Method Not Allowed.")
		resp.Header.Set("Allow", "GET, HEAD")
		return resp
	}
	name, ok := t.File(r.URL.Path)
	if !ok {
		return status(http.StatusNotFound, "404 Not Found.")
	}
	f, size, err := t.openFile(name)
	if err != nil {
		return status(http.StatusNotFound, "404 Not Found.")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	resp := &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Header:        http.Header{"Content-Type": {ctype}, "Content-Length": {strconv.FormatInt(size, 10)}},
		ContentLength: size,
		Body:          f,
	}
	if r.Method == http.MethodHead {
		f.Close()
		resp.Body = http.NoBody
	}
	return resp
}

// openFile opens a regular file of the tree.
func (t *Tree) openFile(name string) (fs.File, int64, error) {
	f, err := t.fsys.Open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: name, Err: errNotFile}
		}
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// status is a plain-text response, as libprocess's Response(body, code).
func status(code int, body string) *http.Response {
	return &http.Response{
		StatusCode:    code,
		Status:        strconv.Itoa(code) + " " + http.StatusText(code),
		Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {strconv.Itoa(len(body))}},
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(strings.NewReader(body)),
	}
}
