package sim

import (
	"embed"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// embedded is the simulator's own WebUI (webui/): index.html,
// app/app.js, app/shared/pailer.html and assets/.
//
//go:embed webui
var embedded embed.FS

// webUI serves a WebUI directory as a master does (master.cpp provide()):
// "/" is index.html, "/app/..." and "/assets/..." are files under it.
type webUI struct {
	files fs.FS
}

// newWebUI serves dir, a Mesos src/webui directory, or the embedded WebUI
// when dir is "".
func newWebUI(dir string) (http.Handler, error) {
	if dir == "" {
		sub, err := fs.Sub(embedded, "webui")
		return &webUI{files: sub}, err
	}
	return &webUI{files: os.DirFS(dir)}, nil
}

func (u *webUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	f, err := u.files.Open(name)
	if err != nil {
		notFound(w)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		notFound(w)
		return
	}
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, f); err != nil && !errors.Is(err, io.EOF) {
			return
		}
	}
}
