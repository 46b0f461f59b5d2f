package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/zookeeper"
)

// masterFile writes a master file in dir and returns its file:// URL.
func masterFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

// TestMastersTheMesosWay: --master takes what Mesos's agents and tools
// take: a zk:// URL (its servers separated by commas too), or a file:///
// path holding any form --master accepts, for serve, probe and certs alike.
func TestMastersTheMesosWay(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string { return masterFile(t, dir, name, content) }
	zkFile := file("zk", "  zk://mesos:pw@zk1:2181,zk2:2181/mesos\n")
	listFile := file("masters", "http://m1:5050,m2:5050\n")
	zk := zookeeper.URL{Servers: []string{"zk1:2181", "zk2:2181"}, Path: "/mesos"}
	tests := []struct {
		name    string
		args    []string
		env     []string
		masters []Master
		zk      zookeeper.URL
		file    string
		shown   string
	}{
		{"zk flag", []string{"--master", "zk://zk1:2181,zk2:2181/mesos"}, nil, nil, zk, "", "zk://zk1:2181,zk2:2181/mesos"},
		{"zk upper-case scheme", []string{"--master", "ZK://zk1:2181,zk2:2181/mesos/"}, nil, nil, zk, "", "zk://zk1:2181,zk2:2181/mesos"},
		{"zk from the environment", nil, []string{"MESOSGATE_MASTER=zk://zk1:2181,zk2:2181/mesos"}, nil, zk, "", "zk://zk1:2181,zk2:2181/mesos"},
		{"zk with digest credentials, hidden when printed", []string{"--master", "zk://mesos:pw@zk1:2181,zk2:2181/mesos"}, nil, nil,
			zookeeper.URL{Servers: zk.Servers, Path: "/mesos", User: "mesos", Password: "pw"}, "", "zk://mesos:xxxxx@zk1:2181,zk2:2181/mesos"},
		{"file holding zk", []string{"--master", zkFile}, nil, nil,
			zookeeper.URL{Servers: zk.Servers, Path: "/mesos", User: "mesos", Password: "pw"}, zkFile, "zk://mesos:xxxxx@zk1:2181,zk2:2181/mesos (read from " + zkFile + ")"},
		{"file holding addresses", []string{"--master", listFile}, nil, []Master{{"http", "m1:5050"}, {"", "m2:5050"}}, zookeeper.URL{}, listFile,
			"http://m1:5050,m2:5050 (read from " + listFile + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := loadGateway(t, "serve", tt.args, baseEnv(tt.env...))
			if !reflect.DeepEqual(g.Masters, tt.masters) || !reflect.DeepEqual(g.ZooKeeper, tt.zk) || g.MasterFile != tt.file {
				t.Errorf("Masters %v, ZooKeeper %#v, MasterFile %q", g.Masters, g.ZooKeeper, g.MasterFile)
			}
			if got := g.UsesZooKeeper(); got != (len(tt.zk.Servers) > 0) {
				t.Errorf("UsesZooKeeper() = %v", got)
			}
			var out strings.Builder
			if err := g.Print(&out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "master  "+tt.shown) && !strings.Contains(out.String(), tt.shown+" ") {
				t.Errorf("printed settings do not show %q:\n%s", tt.shown, out.String())
			}
			if strings.Contains(out.String(), ":pw@") {
				t.Errorf("printed settings show the password:\n%s", out.String())
			}
		})
	}
	for _, load := range []struct {
		name string
		load func(args []string) (*Cluster, error)
	}{
		{"probe", func(args []string) (*Cluster, error) {
			p, err := LoadProbe(args, nil)
			if err != nil {
				return nil, err
			}
			return &p.Cluster, nil
		}},
		{"certs", func(args []string) (*Cluster, error) {
			c, err := LoadCerts(append(args, "--out", dir), nil)
			if err != nil {
				return nil, err
			}
			return &c.Cluster, nil
		}},
	} {
		c, err := load.load([]string{"--master", zkFile})
		if err != nil || c.ZooKeeper.String() != "zk://mesos:xxxxx@zk1:2181,zk2:2181/mesos" || c.ZooKeeper.Password != "pw" {
			t.Errorf("%s: %+v, %v", load.name, c, err)
		}
	}
}

// TestMastersTheMesosWayErrors: every mistake is one line naming the
// setting, and a password never shows.
func TestMastersTheMesosWayErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string { return masterFile(t, dir, name, content) }
	missing := "file://" + filepath.Join(dir, "missing")
	empty := write("empty", " \n")
	nested := write("nested", write("inner", "m1:5050"))
	badZK := write("bad", "zk://u:secretpw@zk1:2181/")
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"path of /", []string{"--master", "zk://zk1:2181/"}, nil, []string{`--master="zk://zk1:2181/": ZooKeeper URL "zk://zk1:2181/": no path`}},
		{"no path", []string{"--master", "zk://zk1:2181,zk2:2181"}, nil, []string{`--master="zk://zk1:2181,zk2:2181"`, "no path"}},
		{"bad port", []string{"--master", "zk://zk1:2181,zk2:99999/mesos"}, nil, []string{`server "zk2:99999" has a bad port`}},
		{"no port", []string{"--master", "zk://zk1/mesos"}, nil, []string{`server "zk1" needs a port`}},
		{"file missing", []string{"--master", missing}, nil, []string{`--master="` + missing + `": read master file`, "no such file"}},
		{"file empty", []string{"--master", empty}, nil, []string{"is empty: write one URL in it"}},
		{"file relative", []string{"--master", "file://etc/mesos/zk"}, nil, []string{`--master="file://etc/mesos/zk"`, "the path must be absolute"}},
		{"file naming a file", []string{"--master", nested}, nil, []string{"names another file"}},
		{"file holding a bad URL, password hidden", []string{"--master", badZK}, nil, []string{`--master="` + badZK + `": master file`, "u:xxxxx@zk1:2181/", "no path"}},
		{"zk then an address", []string{"--master", "zk://zk1:2181/mesos", "--master", "m1:5050"}, nil,
			[]string{`--master="m1:5050": a zk:// URL names every master through ZooKeeper: give it alone`}},
		{"an address then zk, in one value", []string{"--master", "m1:5050,zk://zk1:2181,zk2:2181/mesos"}, nil,
			[]string{`--master="zk://zk1:2181,zk2:2181/mesos": a zk:// URL names every master through ZooKeeper: give it alone`}},
		{"two zk URLs", []string{"--master", "zk://zk1:2181/mesos", "--master", "zk://zk2:2181/mesos"}, nil, []string{"a second zk:// URL"}},
		{"from the environment", nil, []string{"MESOSGATE_MASTER=zk://a:pw@zk1:2181"}, []string{`MESOSGATE_MASTER="zk://a:xxxxx@zk1:2181": ZooKeeper URL`, "no path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("serve", tt.args, baseEnv(tt.env...))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want 1:\n%v", len(lines), err)
			}
			for _, frag := range tt.want {
				if !strings.Contains(lines[0], frag) {
					t.Errorf("%q does not contain %q", lines[0], frag)
				}
			}
			if strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), ":pw@") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestStorage: --storage keeps the certificates in the data directory or
// in ZooKeeper, and only where a certificate source keeps anything.
func TestStorage(t *testing.T) {
	g := loadGateway(t, "serve", []string{"--master", "m:5050"}, baseEnv())
	if g.SharedStorage() || g.Sources["storage"].Kind != FromDefault {
		t.Errorf("default storage %#v (%v)", g.Storage, g.Sources["storage"])
	}
	g = loadGateway(t, "serve", []string{"--master", "zk://zk1:2181/mesos"}, baseEnv("MESOSGATE_STORAGE=zk://gw:pw@zk1:2181,zk2:2181/mesosgate"))
	want := zookeeper.URL{Servers: []string{"zk1:2181", "zk2:2181"}, Path: "/mesosgate", User: "gw", Password: "pw"}
	if !g.SharedStorage() || !reflect.DeepEqual(g.Storage, want) {
		t.Errorf("storage %#v", g.Storage)
	}
	var out strings.Builder
	if err := g.Print(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "zk://gw:xxxxx@zk1:2181,zk2:2181/mesosgate") || strings.Contains(out.String(), ":pw@") {
		t.Errorf("printed storage:\n%s", out.String())
	}
	// Shared storage needs no data directory.
	if _, err := Load("serve", []string{"--master", "m:5050", "--storage", "zk://zk1:2181/mesosgate"}, []string{"PATH=/bin"}); err != nil {
		t.Errorf("ZooKeeper storage without a data directory: %v", err)
	}
	f := newFixture(t)
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown", []string{"--storage", "s3://bucket"}, nil, `--storage="s3://bucket": unknown storage; use data-dir (files under --data-dir) or a ZooKeeper URL`},
		{"bad URL, password hidden", []string{"--storage", "zk://u:pw@zk1:2181/"}, nil, `--storage="zk://u:xxxxx@zk1:2181/": ZooKeeper URL`},
		{"with certificate files", []string{"--storage", "zk://zk1:2181/gw"}, []string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert, "LIBPROCESS_SSL_KEY_FILE=" + f.key},
			"--storage is set but the front's certificate comes from files, which keeps nothing in storage"},
		{"with a plain front", []string{"--storage", "zk://zk1:2181/gw"}, []string{"LIBPROCESS_SSL_ENABLED=false"}, "--storage is set but"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("serve", append([]string{"--master", "m:5050"}, tt.args...), baseEnv(tt.env...))
			if err == nil || !strings.Contains(strings.Split(err.Error(), "\n")[0], tt.want) || strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzMasters: any --master value gives masters by address or a ZooKeeper
// group, never both, or errors; the ZooKeeper password appears neither in
// an error nor in the printed settings.
func FuzzMasters(f *testing.F) {
	for _, seed := range []string{
		"zk://u:hunter22@zk1:2181,zk2:2181/mesos", "m1:5050,https://m2", "ZK://zk1:2181/a/b/", "m1:5050,zk://u:hunter22@zk1:2181/x",
		"zk://@zk1:2181/x", "zk://zk1:2181,,zk2:2181/mesos", "file:///nonexistent", "zk://zk1:2181/", "zk://u:pw@zk1:2181",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		g, err := Load("config", []string{"--master", v}, []string{"HOME=/home/op"})
		secret := ""
		if i := indexSchemeFold(v, "zk://"); i >= 0 {
			if u, perr := zookeeper.ParseURL(v[i:]); perr == nil && len(u.Password) >= 6 {
				secret = ":" + u.Password + "@"
			}
		}
		if err != nil {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
			return
		}
		if g.UsesZooKeeper() && len(g.Masters) > 0 {
			t.Errorf("%q gives both ZooKeeper %v and masters %v", v, g.ZooKeeper, g.Masters)
		}
		var out strings.Builder
		if err := g.Print(&out); err != nil {
			t.Fatal(err)
		}
		if g.UsesZooKeeper() && g.ZooKeeper.Password != "" && strings.Contains(out.String(), ":"+g.ZooKeeper.Password+"@") {
			t.Errorf("the printed settings show the password of %q", v)
		}
	})
}
