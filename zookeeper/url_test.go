package zookeeper

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name, in string
		want     URL
	}{
		{"one server", "zk://10.0.0.1:2181/mesos", URL{Servers: []string{"10.0.0.1:2181"}, Path: "/mesos"}},
		{"several servers", "zk://10.0.0.1:2181,10.0.0.2:2181,zk3.example.com:2182/mesos",
			URL{Servers: []string{"10.0.0.1:2181", "10.0.0.2:2181", "zk3.example.com:2182"}, Path: "/mesos"}},
		{"credentials", "zk://mesos:s3cret@h1:2181/mesos", URL{Servers: []string{"h1:2181"}, Path: "/mesos", User: "mesos", Password: "s3cret"}},
		{"password with @ and :", "zk://u:p@ss:w@rd@h1:2181/mesos", URL{Servers: []string{"h1:2181"}, Path: "/mesos", User: "u", Password: "p@ss:w@rd"}},
		{"empty password", "zk://u:@h1:2181/mesos", URL{Servers: []string{"h1:2181"}, Path: "/mesos", User: "u"}},
		{"deep path, trailing slash", "zk://h1:2181/a/b/mesos/", URL{Servers: []string{"h1:2181"}, Path: "/a/b/mesos"}},
		{"whitespace and scheme case", "  ZK://h1:2181/mesos\n", URL{Servers: []string{"h1:2181"}, Path: "/mesos"}},
		{"ipv6", "zk://[::1]:2181/mesos", URL{Servers: []string{"[::1]:2181"}, Path: "/mesos"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Servers, tt.want.Servers) || got.Path != tt.want.Path || got.User != tt.want.User || got.Password != tt.want.Password {
				t.Errorf("ParseURL(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no path", "zk://h1:2181", "no path"},
		{"root path", "zk://h1:2181/", "no path"},
		{"missing port", "zk://h1/mesos", `server "h1" needs a port`},
		{"missing port of the second", "zk://h1:2181,h2/mesos", `server "h2" needs a port`},
		{"bad port", "zk://h1:21x81/mesos", `server "h1:21x81" has a bad port`},
		{"port out of range", "zk://h1:70000/mesos", "has a bad port"},
		{"empty host", "zk://:2181/mesos", `server ":2181" has no host`},
		{"empty server", "zk://h1:2181,,h2:2181/mesos", "empty server"},
		{"no servers", "zk:///mesos", "no ZooKeeper server"},
		{"http", "http://h1:2181/mesos", "not a zk:// URL"},
		{"bare list", "h1:2181,h2:2181", "not a zk:// URL"},
		{"empty", "", "not a zk:// URL"},
		{"user without password", "zk://mesos@h1:2181/mesos", "credentials must be user:password"},
		{"empty segment", "zk://h1:2181//mesos", "no empty, . or .. segments"},
		{"dot segment", "zk://h1:2181/mesos/../x", "no empty, . or .. segments"},
		{"space in path", "zk://h1:2181/me sos", "no control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURL(tt.in)
			if err == nil {
				t.Fatalf("ParseURL(%q) succeeded", tt.in)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, Example) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line with %q and the example", msg, tt.want)
			}
		})
	}
}

// TestPasswordHidden: String, LogValue and parse errors never show the
// password.
func TestPasswordHidden(t *testing.T) {
	u, err := ParseURL("zk://mesos:s3cret@h1:2181,h2:2181/mesos")
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "zk", u)
	_, perr := ParseURL("zk://mesos:s3cret@h1/mesos")
	for name, s := range map[string]string{
		"String": u.String(), "%v": fmt.Sprintf("%v", u), "LogValue": log.String(),
		"parse error": perr.Error(), "RedactURL": RedactURL("zk://mesos:s3cret@h1:2181/mesos"),
	} {
		if strings.Contains(s, "s3cret") || !strings.Contains(s, "mesos:xxxxx@h1") {
			t.Errorf("%s = %q: want the password hidden", name, s)
		}
	}
	if got := u.String(); got != "zk://mesos:xxxxx@h1:2181,h2:2181/mesos" {
		t.Errorf("String() = %q", got)
	}
}

func TestReadMasterFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	zkFile := write("zk", "  zk://h1:2181,h2:2181/mesos\n")
	listFile := write("list", "10.0.0.1:5050\n")
	emptyFile := write("empty", " \n\t")
	tests := []struct{ name, in, want, wantErr string }{
		{"zk url", zkFile, "zk://h1:2181,h2:2181/mesos", ""},
		{"host:port list", listFile, "10.0.0.1:5050", ""},
		{"empty", emptyFile, "", "is empty"},
		{"missing", "file://" + filepath.Join(dir, "nope"), "", "no such file"},
		{"relative", "file://etc/mesos/zk", "", "must be absolute"},
		{"not file", "zk://h1:2181/mesos", "", "not a file:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMasterFile(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ReadMasterFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"zk://h1:2181/mesos", "zk://u:p@h1:2181,h2:2181/a/b/", "zk://[::1]:2181/x", "zk://h1/mesos", "zk:///"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if len(u.Servers) == 0 || u.Path == "" || u.Path == "/" || strings.HasSuffix(u.Path, "/") {
			t.Errorf("ParseURL(%q) = %+v: accepted without servers or path", s, u)
		}
		if u.Password != "" && u.Password != "xxxxx" && strings.Contains(u.String(), ":"+u.Password+"@") {
			t.Errorf("String %q shows the password", u.String())
		}
		// What String prints (without credentials) parses to the same.
		u.User, u.Password = "", ""
		again, err := ParseURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Errorf("String %q does not parse back: %+v, %v", u.String(), again, err)
		}
	})
}
