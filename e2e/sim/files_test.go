package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFilesBrowse lists a sandbox under each path Mesos attaches it at.
func TestFilesBrowse(t *testing.T) {
	c := start(t, Options{Agents: 1, LargeFileSize: 200 << 10})
	a := c.Agents()[0]
	sb := sandbox(t, a)
	latest := filepath.Join(filepath.Dir(sb.Directory), "latest")
	for _, dir := range []string{sb.Directory, sb.Directory + "/", latest, sb.VirtualPath} {
		t.Run(dir, func(t *testing.T) {
			var listing []fileInfoJSON
			getJSON(t, a.URL()+"/files/browse?path="+url.QueryEscape(dir), &listing)
			var names []string
			for _, f := range listing {
				names = append(names, filepath.Base(f.Path))
				if want := strings.TrimSuffix(dir, "/") + "/" + filepath.Base(f.Path); f.Path != want {
					t.Errorf("path %q, want %q (the requested path joined with the name)", f.Path, want)
				}
			}
			if got, want := strings.Join(names, ","), "conf,data.bin,large.log,stderr,stdout"; got != want {
				t.Fatalf("listing %s, want %s", got, want)
			}
			for _, f := range listing {
				switch filepath.Base(f.Path) {
				case "conf":
					if f.Mode != "drwxr-xr-x" {
						t.Errorf("conf mode %q", f.Mode)
					}
				case "large.log":
					if f.Size != 200<<10 || f.Mode != "-rw-r--r--" || f.NLink < 2 || f.UID == "" || f.MTime == 0 {
						t.Errorf("large.log: %+v (want size %d, a hard link, owner and mtime)", f, 200<<10)
					}
				}
			}
		})
	}
	t.Run("file_lists_empty", func(t *testing.T) {
		var listing []fileInfoJSON
		getJSON(t, a.URL()+"/files/browse?path="+url.QueryEscape(sb.Directory+"/stdout"), &listing)
		if len(listing) != 0 {
			t.Errorf("browsing a file listed %v", listing)
		}
	})
	t.Run("agent_log", func(t *testing.T) {
		r := get(t, a.URL()+"/files/read?path=/slave/log&offset=0")
		var data struct{ Data string }
		json.Unmarshal(r.body, &data)
		if !strings.Contains(data.Data, "Registered with master; given agent ID "+a.ID()) {
			t.Errorf("agent log: %q", data.Data)
		}
	})
}

// TestFilesRead checks /files/read's offsets, lengths and cap.
func TestFilesRead(t *testing.T) {
	c := start(t, Options{Agents: 1, LargeFileSize: 300 << 10})
	a := c.Agents()[0]
	sb := sandbox(t, a)
	stdout, err := os.ReadFile(filepath.Join(sb.Directory, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	large := sb.Directory + "/large.log"
	tests := []struct {
		name, path, query string
		wantOffset        int64
		wantData          string
		wantLen           int
	}{
		{"size_by_offset_minus_one", sb.Directory + "/stdout", "offset=-1", int64(len(stdout)), "", 0},
		{"default_is_size", sb.Directory + "/stdout", "", int64(len(stdout)), "", 0},
		{"start", sb.Directory + "/stdout", "offset=0&length=25", 0, string(stdout[:25]), 25},
		{"middle", sb.Directory + "/stdout", "offset=10&length=30", 10, string(stdout[10:40]), 30},
		{"rest", sb.Directory + "/stdout", "offset=100&length=-1", 100, string(stdout[100:]), len(stdout) - 100},
		{"past_the_end", sb.Directory + "/stdout", "offset=999999999&length=10", 999999999, "", 0},
		{"capped_without_length", large, "offset=0", 0, LargeFileLine(0), readCap},
		{"capped_with_length", large, "offset=0&length=10000000", 0, LargeFileLine(0), readCap},
		{"large_offset", large, "offset=6400&length=64", 6400, LargeFileLine(100), 64},
		{"virtual_path", sb.VirtualPath + "/stdout", "offset=0&length=25", 0, string(stdout[:25]), 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Data   string `json:"data"`
				Offset int64  `json:"offset"`
			}
			getJSON(t, a.URL()+"/files/read?path="+url.QueryEscape(tc.path)+"&"+tc.query, &got)
			if got.Offset != tc.wantOffset || len(got.Data) != tc.wantLen || !strings.HasPrefix(got.Data, tc.wantData) {
				t.Errorf("offset %d, %d bytes starting %q; want offset %d, %d bytes starting %q",
					got.Offset, len(got.Data), truncate([]byte(got.Data)), tc.wantOffset, tc.wantLen, truncate([]byte(tc.wantData)))
			}
		})
	}
	t.Run("binary_bytes_unchanged", func(t *testing.T) {
		r := get(t, a.URL()+"/files/read?path="+url.QueryEscape(sb.Directory+"/data.bin")+"&offset=250&length=12")
		// Bytes 250..255 then 0..5: printable bytes raw, controls escaped
		// as \u00XX, and bytes above 0x7f raw (stout does not re-encode).
		want := []byte("\xfa\xfb\xfc\xfd\xfe\xff\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005")
		if !bytes.Contains(r.body, want) {
			t.Errorf("body %q does not hold %q", r.body, want)
		}
	})

	errs := []struct {
		name, query string
		status      int
		body        string
	}{
		{"directory", "path=" + url.QueryEscape(sb.Directory) + "&offset=0", 400, "Cannot read a directory.\n"},
		{"missing_file", "path=" + url.QueryEscape(sb.Directory+"/nope") + "&offset=0", 404, ""},
		{"not_attached", "path=/etc/passwd&offset=0", 404, ""},
		{"escapes_sandbox", "path=" + url.QueryEscape(sb.Directory+strings.Repeat("/..", 40)+"/etc/passwd") + "&offset=0", 400, "inaccessible"},
		{"bad_offset", "path=" + url.QueryEscape(sb.Directory+"/stdout") + "&offset=abc", 400, "Failed to parse offset"},
		{"negative_offset", "path=" + url.QueryEscape(sb.Directory+"/stdout") + "&offset=-2", 400, "Negative offset provided: -2.\n"},
		{"negative_length", "path=" + url.QueryEscape(sb.Directory+"/stdout") + "&offset=0&length=-5", 400, "Negative length provided: -5.\n"},
		{"no_path", "offset=0", 400, "Expecting 'path=value' in query.\n"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, a.URL()+"/files/read?"+tc.query)
			if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
				t.Errorf("got %d %q, want %d containing %q", r.status, r.body, tc.status, tc.body)
			}
		})
	}
}

// TestFilesDownload checks whole-file downloads and their refusals.
func TestFilesDownload(t *testing.T) {
	c := start(t, Options{Agents: 1, LargeFileSize: 3<<20 + 17})
	a := c.Agents()[0]
	sb := sandbox(t, a)
	for _, name := range []string{"large.log", "data.bin", "stdout", ConfFile} {
		t.Run(name, func(t *testing.T) {
			onDisk, err := os.ReadFile(filepath.Join(sb.Directory, name))
			if err != nil {
				t.Fatal(err)
			}
			r := get(t, a.URL()+"/files/download?path="+url.QueryEscape(sb.Directory+"/"+name))
			if r.status != 200 || sha256.Sum256(r.body) != sha256.Sum256(onDisk) {
				t.Fatalf("status %d, %d bytes; want 200 and the %d bytes on disk", r.status, len(r.body), len(onDisk))
			}
			if got, want := r.header.Get("Content-Disposition"), "attachment; filename="+filepath.Base(name); got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			if got := r.header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("Content-Type %q, want application/octet-stream", got)
			}
			if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(onDisk)) {
				t.Errorf("Content-Length %s, want %d", got, len(onDisk))
			}
		})
	}
	t.Run("large_file_content", func(t *testing.T) {
		r := get(t, a.URL()+"/files/download?path="+url.QueryEscape(sb.VirtualPath+"/large.log"))
		if len(r.body) != 3<<20+17 || string(r.body[64*1000:64*1001]) != LargeFileLine(1000) {
			t.Errorf("%d bytes, line 1000 %q", len(r.body), r.body[64*1000:64*1001])
		}
	})
	errs := []struct {
		name, path string
		status     int
		body       string
	}{
		{"directory", sb.Directory, 400, "Cannot download a directory.\n"},
		{"missing", sb.Directory + "/missing.txt", 404, ""},
		{"below_a_file", sb.Directory + "/stdout/x", 404, ""},
		{"not_attached", filepath.Dir(sb.Directory), 404, ""},
		{"empty_path", "", 400, "Expecting 'path=value' in query.\n"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, a.URL()+"/files/download?path="+url.QueryEscape(tc.path))
			if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
				t.Errorf("got %d %q, want %d containing %q", r.status, r.body, tc.status, tc.body)
			}
		})
	}
	t.Run("browse_missing_is_404", func(t *testing.T) {
		if r := get(t, a.URL()+"/files/browse?path="+url.QueryEscape(sb.Directory+"/nope")); r.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.status)
		}
	})
}

// TestAgentState checks /slave(1)/state: executors carry their sandbox
// directory, which /files serves.
func TestAgentState(t *testing.T) {
	c := start(t, Options{Agents: 2})
	for _, a := range c.Agents() {
		var s agentStateJSON
		getJSON(t, a.URL()+"/slave(1)/state", &s)
		if s.ID != a.ID() || s.PID != a.PID() || s.Hostname != "localhost" || s.MasterHostname != "localhost" {
			t.Errorf("agent state: id %s pid %s hostname %s master_hostname %s", s.ID, s.PID, s.Hostname, s.MasterHostname)
		}
		var dirs []string
		for _, f := range append(s.Frameworks, s.CompletedFrameworks...) {
			for _, e := range append(f.Executors, f.CompletedExecutors...) {
				dirs = append(dirs, e.Directory)
				if !strings.Contains(e.Directory, "/slaves/"+a.ID()+"/frameworks/"+f.ID+"/executors/"+e.ID+"/runs/"+e.Container) {
					t.Errorf("executor %s directory %s is not Mesos's layout", e.ID, e.Directory)
				}
			}
		}
		if len(dirs) == 0 {
			t.Fatalf("agent %s has no executors", a.ID())
		}
		for _, d := range dirs {
			if r := get(t, a.URL()+"/files/browse?path="+url.QueryEscape(d)); r.status != 200 || !strings.Contains(string(r.body), "stdout") {
				t.Errorf("browse %s: %d %q", d, r.status, truncate(r.body))
			}
		}
		var stats []statisticsJSON
		getJSON(t, a.URL()+"/slave(1)/monitor/statistics", &stats)
		if len(stats) != 1 || stats[0].Statistics["mem_rss_bytes"] == nil {
			t.Errorf("statistics = %+v", stats)
		}
		// libprocess delegates unknown first segments to slave(1).
		if r := get(t, a.URL()+"/state"); r.status != 200 {
			t.Errorf("/state: %d, want the delegated /slave(1)/state", r.status)
		}
		if r := get(t, a.URL()+"/"); r.status != 404 {
			t.Errorf("/ on an agent: %d, want 404", r.status)
		}
	}
}

// sandbox returns the agent's running sandbox, written to disk.
func sandbox(t *testing.T, a *Agent) Sandbox {
	t.Helper()
	sbs, err := a.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	for _, sb := range sbs {
		if sb.Running {
			return sb
		}
	}
	t.Fatalf("agent %s has no running sandbox", a.ID())
	return Sandbox{}
}

// FuzzResolve: whatever path is asked for, /files resolves only to an
// attached file or to something inside an attached directory, following
// symbolic links, and never panics.
func FuzzResolve(f *testing.F) {
	root := f.TempDir()
	root, _ = filepath.EvalSymlinks(root)
	base := filepath.Join(root, "sandbox")
	for _, d := range []string{"sandbox/sub", "sandbox2"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for _, p := range []string{"sandbox/stdout", "sandbox/sub/x", "sandbox2/secret", "log"} {
		os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644)
	}
	os.Symlink("/etc", filepath.Join(base, "escape"))
	os.Symlink("../sandbox2/secret", filepath.Join(base, "sibling"))
	os.Symlink("sub/x", filepath.Join(base, "inside"))
	fs := &fileSystem{paths: map[string]string{}}
	for virtual, real := range map[string]string{"/sb": base, base: base, "/slave/log": filepath.Join(root, "log")} {
		if err := fs.attach(real, virtual); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{"/sb", "/sb/", "/sb/stdout", "/sb/../sandbox2/secret", "/sb/escape/passwd", "/sb/sibling",
		"/sb/inside", base + "/sub", base + "/../sandbox2/secret", "/slave/log", "/slave/log/x", "sb", "//sb//stdout", "/sb/./sub/../stdout"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		real, err := fs.resolve(p)
		if err != nil {
			return
		}
		if real != base && !strings.HasPrefix(real, base+"/") && real != filepath.Join(root, "log") {
			t.Errorf("resolve(%q) = %q, outside what is attached", p, real)
		}
	})
}
