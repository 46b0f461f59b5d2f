package sim

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/mesosgate/mesosgate/webui"
)

// embedded is the simulator's own WebUI (webui/): index.html,
// app/app.js, app/shared/pailer.html and assets/, in the layout of Mesos
// 1.6 and later.
//
//go:embed webui
var embedded embed.FS

// openWebUI opens dir, src/webui of a Mesos source tree of any release
// from 0.23, or the embedded WebUI when dir is "".
func openWebUI(dir string) (*webui.Tree, error) {
	if dir != "" {
		return webui.Open(dir)
	}
	sub, err := fs.Sub(embedded, "webui")
	if err != nil {
		return nil, err
	}
	return webui.OpenFS(sub, "the simulator's WebUI")
}

// serveWebUI serves the WebUI's files as a master does (master.cpp
// provide(): "/" is the index, and the layout's directories are mounted
// under the master process: "/master/static/..." or "/master/app/...",
// which libprocess also reaches as "/static/..." or "/app/..."). p is the
// path after delegation. It reports false when p is none of them.
func (m *Master) serveWebUI(w http.ResponseWriter, r *http.Request, p string) bool {
	rest, ok := strings.CutPrefix(p, "/master")
	if !ok {
		return false
	}
	if rest == "" {
		rest = "/"
	}
	if _, ok := m.c.webui.File(rest); !ok {
		return false
	}
	m.c.webui.ServeHTTP(w, withPath(r, rest))
	return true
}

// beforeMesos1 reports whether t is the WebUI of Mesos 0.23 to 0.28: the
// layout of master/static, with pages named after slaves (Mesos 1.0
// renamed them after agents, and its masters redirect from standbys).
func beforeMesos1(t *webui.Tree) bool {
	if t.Layout() != webui.Static {
		return false
	}
	name, ok := t.File("/static/slaves.html")
	if !ok {
		return false
	}
	_, err := fs.Stat(t.FS(), name)
	return err == nil
}
