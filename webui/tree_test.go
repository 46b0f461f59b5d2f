package webui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// The two layouts as Mesos ships them, reduced to the files that tell
// them apart and a few they serve.
var (
	static = fstest.MapFS{ // Mesos 0.28
		"master/static/index.html":     {Data: []byte(`<script src="/static/js/app.js"></script>`)},
		"master/static/home.html":      {Data: []byte("<h1>home</h1>")},
		"master/static/js/app.js":      {Data: []byte("angular.module('mesos')")},
		"master/static/css/mesos.css":  {Data: []byte("body{}")},
		"master/static/ico/favicon.ic": {Data: []byte("x")},
	}
	app = fstest.MapFS{ // Mesos 1.11
		"index.html":                {Data: []byte(`<script src="app/app.js"></script>`)},
		"app/app.js":                {Data: []byte("angular.module('mesos')")},
		"app/shared/pailer.html":    {Data: []byte("<pre id=data></pre>")},
		"assets/css/mesos.css":      {Data: []byte("body{}")},
		"assets/libs/jquery.min.js": {Data: []byte("jQuery")},
	}
)

func TestOpenLayouts(t *testing.T) {
	sub := func(fsys fstest.MapFS, dir string) fstest.MapFS {
		out := fstest.MapFS{}
		for name, f := range fsys {
			if rest, ok := strings.CutPrefix(name, dir+"/"); ok {
				out[rest] = f
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		fsys   fstest.MapFS
		layout Layout
		mounts []Mount
	}{
		{"app_1.6_and_later", app, App, []Mount{{"/", "index.html"}, {"/app/", "app"}, {"/assets/", "assets"}}},
		{"static_0.23_to_1.5", static, Static, []Mount{{"/", "master/static/index.html"}, {"/static/", "master/static"}}},
		{"master_static_itself", sub(static, "master/static"), Static, []Mount{{"/", "index.html"}, {"/static/", "."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := OpenFS(tc.fsys, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if tree.Layout() != tc.layout {
				t.Errorf("layout %v, want %v", tree.Layout(), tc.layout)
			}
			got := tree.Mounts()
			if len(got) != len(tc.mounts) {
				t.Fatalf("mounts %v, want %v", got, tc.mounts)
			}
			for i := range got {
				if got[i] != tc.mounts[i] {
					t.Errorf("mount %d: %v, want %v", i, got[i], tc.mounts[i])
				}
			}
		})
	}
}

func TestOpenRefusesOtherDirectories(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
	}{
		{"empty", fstest.MapFS{}},
		{"index_alone", fstest.MapFS{"index.html": {Data: []byte("x")}}},
		{"master_without_index", fstest.MapFS{"master/static/js/app.js": {Data: []byte("x")}}},
		{"index_is_a_directory", fstest.MapFS{"master/static/index.html/x": {Data: []byte("x")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenFS(tc.fsys, "/src/x")
			want := "neither app/ and index.html (Mesos 1.6 and later) nor master/static/index.html (Mesos 0.23 to 1.5) under /src/x: give src/webui of a Mesos source tree"
			if err == nil || err.Error() != want {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

func TestOpenDirectory(t *testing.T) {
	root := t.TempDir()
	if _, err := Open(filepath.Join(root, "missing")); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("a missing directory: %v", err)
	}
	// A Mesos source tree's root: the error points at its src/webui.
	webui := filepath.Join(root, "src", "webui")
	if err := os.MkdirAll(filepath.Join(webui, "master", "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "("+webui+" looks like one)") {
		t.Errorf("a source tree's root: %v", err)
	}
	if err := os.WriteFile(filepath.Join(webui, "master", "static", "index.html"), []byte("<title>Mesos</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := Open(webui)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Layout() != Static || tree.Name() != webui {
		t.Errorf("layout %v, name %s", tree.Layout(), tree.Name())
	}
	if _, err := Open(filepath.Join(webui, "master", "static", "index.html")); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("a file: %v", err)
	}
}

func TestFile(t *testing.T) {
	staticTree, _ := OpenFS(static, "static")
	appTree, _ := OpenFS(app, "app")
	for _, tc := range []struct {
		name string
		tree *Tree
		path string
		want string // "" for no file
	}{
		{"static_index", staticTree, "/", "master/static/index.html"},
		{"static_empty_path", staticTree, "", "master/static/index.html"},
		{"static_asset", staticTree, "/static/js/app.js", "master/static/js/app.js"},
		{"static_template", staticTree, "/static/home.html", "master/static/home.html"},
		{"static_no_app", staticTree, "/app/app.js", ""},
		{"static_bare_mount", staticTree, "/static/", ""},
		{"static_index_by_name", staticTree, "/index.html", ""},
		{"static_endpoint", staticTree, "/master/state", ""},
		{"static_dotdot_stays_inside", staticTree, "/static/../static/js/app.js", "master/static/js/app.js"},
		{"static_dotdot_cannot_leave", staticTree, "/static/../../etc/passwd", ""},
		{"app_index", appTree, "/", "index.html"},
		{"app_script", appTree, "/app/app.js", "app/app.js"},
		{"app_pailer", appTree, "/app/shared/pailer.html", "app/shared/pailer.html"},
		{"app_asset", appTree, "/assets/libs/jquery.min.js", "assets/libs/jquery.min.js"},
		{"app_no_static", appTree, "/static/js/app.js", ""},
		{"app_trailing_slash", appTree, "/app/shared/", "app/shared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.tree.File(tc.path)
			if !ok {
				got = ""
			}
			if got != tc.want {
				t.Errorf("File(%q) = %q, %v; want %q", tc.path, got, ok, tc.want)
			}
		})
	}
}

func TestServe(t *testing.T) {
	staticTree, _ := OpenFS(static, "static")
	appTree, _ := OpenFS(app, "app")
	for _, tc := range []struct {
		name, method, path string
		tree               *Tree
		code               int
		ctype, body        string
	}{
		{"static_index", "GET", "/", staticTree, 200, "text/html; charset=utf-8", `<script src="/static/js/app.js"></script>`},
		{"static_script", "GET", "/static/js/app.js", staticTree, 200, "text/javascript; charset=utf-8", "angular.module('mesos')"},
		{"static_unknown_type", "GET", "/static/ico/favicon.ic", staticTree, 200, "application/octet-stream", "x"},
		{"static_head", "HEAD", "/static/css/mesos.css", staticTree, 200, "text/css; charset=utf-8", ""},
		{"static_missing", "GET", "/static/nothing.js", staticTree, 404, "text/plain; charset=utf-8", "404 Not Found."},
		{"static_directory", "GET", "/static/js", staticTree, 404, "text/plain; charset=utf-8", "404 Not Found."},
		{"app_pailer", "GET", "/app/shared/pailer.html", appTree, 200, "text/html; charset=utf-8", "<pre id=data></pre>"},
		{"app_outside", "GET", "/master/state", appTree, 404, "text/plain; charset=utf-8", "404 Not Found."},
		{"app_post", "POST", "/", appTree, 405, "text/plain; charset=utf-8", "405 Method Not Allowed."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, code int, h http.Header, body string) {
				t.Helper()
				if code != tc.code || h.Get("Content-Type") != tc.ctype || body != tc.body {
					t.Errorf("%s: %d %q %q, want %d %q %q", how, code, h.Get("Content-Type"), body, tc.code, tc.ctype, tc.body)
				}
				if tc.code == 200 && h.Get("Content-Length") == "" {
					t.Errorf("%s: no Content-Length", how)
				}
			}
			rec := httptest.NewRecorder()
			tc.tree.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			check("ServeHTTP", rec.Code, rec.Header(), rec.Body.String())

			resp, err := tc.tree.RoundTrip(httptest.NewRequest(tc.method, "http://webui"+tc.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			check("RoundTrip", resp.StatusCode, resp.Header, string(b))
		})
	}
}

// TestReleases opens the WebUI of real releases when they are at hand
// (MESOSGATE_MESOS_WEBUI: src/webui directories separated by the list
// separator), for example:
//
//	for t in 0.23.0 1.5.0 1.6.0 1.11.0; do mkdir -p /tmp/mesos-$t; git -C mesos archive $t src/webui | tar -x -C /tmp/mesos-$t; done
//	MESOSGATE_MESOS_WEBUI=/tmp/mesos-0.23.0/src/webui:/tmp/mesos-1.11.0/src/webui go test ./webui
//
// Each must open, and its index and the scripts the index loads must be
// served.
func TestReleases(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv("MESOSGATE_MESOS_WEBUI"))
	if len(dirs) == 0 {
		t.Skip("MESOSGATE_MESOS_WEBUI is not set: skipping the real releases (see the test's comment)")
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			tree, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			name, _ := tree.File("/")
			index, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v", dir, tree.Layout())
			n := 0
			for _, src := range strings.Split(string(index), `src="`)[1:] {
				src = src[:strings.IndexByte(src, '"')]
				rec := httptest.NewRecorder()
				tree.ServeHTTP(rec, httptest.NewRequest("GET", "/"+strings.TrimPrefix(src, "/"), nil))
				if rec.Code != 200 {
					t.Errorf("%s: %d", src, rec.Code)
				}
				n++
			}
			if n < 3 {
				t.Errorf("the index loads %d files", n)
			}
		})
	}
}

// FuzzFile checks that no URL path maps to a file outside its mount: the
// name is a valid fs path inside the directory the path's mount names.
func FuzzFile(f *testing.F) {
	for _, seed := range []string{"/", "", "/static/js/app.js", "/static/../../x", "/app/../static/x", "//static//js", "/static/%2e%2e/x", `/static/..\x`, "/assets/./a/../b"} {
		f.Add(seed)
	}
	staticTree, _ := OpenFS(static, "static")
	appTree, _ := OpenFS(app, "app")
	itself := fstest.MapFS{"index.html": {Data: []byte("x")}, "js/app.js": {Data: []byte("x")}}
	itselfTree, err := OpenFS(itself, "master/static")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		for _, tree := range []*Tree{staticTree, appTree, itselfTree} {
			name, ok := tree.File(p)
			if !ok {
				continue
			}
			if !fs.ValidPath(name) {
				t.Fatalf("%q maps to %q, not a valid path", p, name)
			}
			inside := false
			for _, m := range tree.Mounts() {
				if name == m.Name || m.Path != "/" && (m.Name == "." || strings.HasPrefix(name, m.Name+"/")) {
					inside = true
				}
			}
			if !inside {
				t.Fatalf("%q maps to %q, outside every mount", p, name)
			}
		}
	})
}
