// Package webui knows the Apache Mesos WebUI as a directory of files
// (src/webui of a Mesos source tree): which of the two layouts a release
// ships, where its index page is, and the URL paths a master serves the
// files at. The simulated cluster (e2e/sim) serves a tree through it, and
// so can the gateway's own --webui-dir.
//
// The layouts, from src/master/master.cpp (Master::initialize, provide()):
//
//	Mesos 0.23 to 1.5  master/static/index.html at "/", master/static/... at "/static/..."
//	Mesos 1.6 and later index.html at "/", app/... at "/app/...", assets/... at "/assets/..."
//
// A master serves nothing else from the directory: no listing, no
// /index.html. Paths here are below the master's root, as libprocess
// routes them: the master's process prefix ("/master/static/x") and a
// gateway prefix ("/mesos/static/x") are the caller's to strip.
package webui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Layout is how a release arranges its WebUI's files.
type Layout int

const (
	// Static is the layout of Mesos 0.23 to 1.5: every file under
	// master/static/, which the master serves at "/static/...", and
	// master/static/index.html at "/". Its pages name their files
	// root-relative ("/static/js/app.js").
	Static Layout = iota + 1
	// App is the layout of Mesos 1.6 and later: index.html at "/", and
	// app/ and assets/ at "/app/..." and "/assets/...". Its pages name
	// their files relative to the page ("app/app.js").
	App
)

// String names the layout with the releases that ship it.
func (l Layout) String() string {
	switch l {
	case Static:
		return "master/static (Mesos 0.23 to 1.5)"
	case App:
		return "app and assets (Mesos 1.6 and later)"
	}
	return "unknown"
}

// Mount is one URL path a master serves from the tree.
type Mount struct {
	// Path is "/" for the index page alone, or a directory prefix ending in
	// "/" ("/static/", "/app/") under which every file of Name is served.
	Path string
	// Name is the file ("/") or directory behind Path: slash-separated,
	// relative to the tree's root ("master/static/index.html",
	// "master/static").
	Name string
}

// Tree is a Mesos WebUI directory whose layout is known. It is immutable
// and safe for concurrent use; it reads files only when they are served.
type Tree struct {
	fsys   fs.FS
	name   string
	layout Layout
	mounts []Mount
}

// Open reads the layout of dir, src/webui of a Mesos source tree. It also
// takes src/webui/master/static of a 0.23 to 1.5 tree itself, serving it
// at "/static/" as the master would. Anything else is an error naming
// what was looked for.
func Open(dir string) (*Tree, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open the Mesos WebUI directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("the Mesos WebUI directory %s is a file: give src/webui of a Mesos source tree", dir)
	}
	t, err := OpenFS(os.DirFS(dir), dir)
	if err != nil && isDir(os.DirFS(dir), "src/webui") {
		return nil, fmt.Errorf("%w (%s looks like one)", err, filepath.Join(dir, "src", "webui"))
	}
	return t, err
}

// OpenFS is Open for a tree in fsys (an embedded WebUI, a test's
// fstest.MapFS); name says which tree it is in errors and in Name.
func OpenFS(fsys fs.FS, name string) (*Tree, error) {
	t := &Tree{fsys: fsys, name: name}
	switch {
	case isFile(fsys, "index.html") && isDir(fsys, "app"):
		t.layout = App
		t.mounts = []Mount{{"/", "index.html"}, {"/app/", "app"}, {"/assets/", "assets"}}
	case isFile(fsys, "master/static/index.html"):
		t.layout = Static
		t.mounts = []Mount{{"/", "master/static/index.html"}, {"/static/", "master/static"}}
	case isFile(fsys, "index.html") && isDir(fsys, "js") && !isDir(fsys, "app"):
		// master/static itself: its index names "/static/js/...".
		t.layout = Static
		t.mounts = []Mount{{"/", "index.html"}, {"/static/", "."}}
	default:
		return nil, fmt.Errorf("neither app/ and index.html (Mesos 1.6 and later) nor master/static/index.html (Mesos 0.23 to 1.5) under %s: give src/webui of a Mesos source tree", name)
	}
	return t, nil
}

// Name returns the directory the tree was opened from.
func (t *Tree) Name() string { return t.name }

// Layout returns the tree's layout.
func (t *Tree) Layout() Layout { return t.layout }

// Mounts returns the URL paths a master serves the tree at, "/" first.
// A router mounts "/" exactly and every other Path as a prefix.
func (t *Tree) Mounts() []Mount { return append([]Mount(nil), t.mounts...) }

// FS returns the file system the tree is read from; File's names are
// names in it.
func (t *Tree) FS() fs.FS { return t.fsys }

// File maps a URL path below the master's root to the name of the file
// a master serves there ("/" to the index page, "/static/js/app.js" to
// "master/static/js/app.js"). ok is false for a path outside every mount
// (the master's own endpoints, "/index.html", a mount's bare directory);
// the file itself may still be missing. The path is cleaned first, so it
// never leaves its mount ("/static/../x" is "/x").
func (t *Tree) File(urlPath string) (name string, ok bool) {
	p := path.Clean("/" + urlPath)
	if p == "/" {
		return t.mounts[0].Name, true
	}
	for _, m := range t.mounts[1:] {
		rest, found := strings.CutPrefix(p, m.Path)
		if !found || rest == "" {
			continue
		}
		name := path.Join(m.Name, rest)
		if !fs.ValidPath(name) {
			return "", false
		}
		return name, true
	}
	return "", false
}

func isFile(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.Mode().IsRegular()
}

func isDir(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

// errNotFile is why a name that is a directory is not served.
var errNotFile = errors.New("not a file")
