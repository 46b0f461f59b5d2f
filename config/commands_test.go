package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

func TestProbe(t *testing.T) {
	p, err := LoadProbe([]string{"--master", "m1:5050", "--json"}, []string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true", "SSL_CA_FILE=/nonexistent/ca.pem"})
	if err == nil || !strings.Contains(err.Error(), `SSL_CA_FILE="/nonexistent/ca.pem": does not exist`) {
		t.Fatalf("a missing CA file is not reported: %v", err)
	}
	f := newFixture(t)
	p, err = LoadProbe([]string{"--master", "m1:5050", "--json"}, []string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true", "SSL_CA_FILE=" + f.ca})
	if err != nil {
		t.Fatal(err)
	}
	want := tlsx.Settings{VerifyServerCert: true, CAFile: f.ca, EnableTLSv13: tlsx.On}
	if !p.JSON || p.ProbeTimeout != DefaultProbeTimeout || p.TLS != want || !reflect.DeepEqual(p.Masters, []Master{{"", "m1:5050"}}) {
		t.Errorf("probe settings %+v", p)
	}
	if p.SSLName("CA_FILE") != "SSL_CA_FILE" {
		t.Errorf("SSLName(CA_FILE) = %q", p.SSLName("CA_FILE"))
	}
	if _, err := LoadProbe(nil, nil); err == nil || !strings.Contains(err.Error(), "--master is required: give the masters' addresses, e.g. mesosgate probe --master") {
		t.Errorf("probe without --master: %v", err)
	}
	if _, err := LoadProbe([]string{"--master", "m:1", "--listen", ":1"}, nil); err == nil || !strings.Contains(err.Error(), "unknown flag --listen: mesosgate probe has no such flag") {
		t.Errorf("probe with a gateway flag: %v", err)
	}
}

func TestCerts(t *testing.T) {
	f := newFixture(t)
	c, err := LoadCerts([]string{"--master", "https://m1:5050", "--out", filepath.Join(f.dir, "new"), "--host", "lb.example.com,192.0.2.10", "--host", "*.agents.example.com",
		"--ca-cert", f.cert, "--ca-key", f.key, "--days", "30", "--force"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Out != filepath.Join(f.dir, "new") || c.CACert != f.cert || c.CAKey != f.key || c.Validity != 30*24*time.Hour || !c.Force ||
		!reflect.DeepEqual(c.Hosts, []string{"lb.example.com", "192.0.2.10", "*.agents.example.com"}) {
		t.Errorf("certs settings %+v", c)
	}
	if c, err = LoadCerts([]string{"--master", "m1:5050", "--out", f.dir}, nil); err != nil || c.Validity != DefaultCertValidity || c.Force {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"needs master and out", nil, []string{"--master is required", "--out is required"}},
		{"out is a file", []string{"--master", "m:1", "--out", f.notDir}, []string{`--out="` + f.notDir + `": is a file`}},
		{"ca cert without key", []string{"--master", "m:1", "--out", f.dir, "--ca-cert", f.cert}, []string{"--ca-cert is set but --ca-key is not"}},
		{"ca key missing", []string{"--master", "m:1", "--out", f.dir, "--ca-cert", f.cert, "--ca-key", f.dir + "/nope"}, []string{`--ca-key="` + f.dir + `/nope": does not exist`}},
		{"bad host", []string{"--master", "m:1", "--out", f.dir, "--host", "http://x"}, []string{`--host="http://x": not a DNS name or IP address`}},
		{"no days", []string{"--master", "m:1", "--out", f.dir, "--days", "0"}, []string{`--days="0": not a number from 1 to 3650`}},
		{"days as a duration", []string{"--master", "m:1", "--out", f.dir, "--days", "720h"}, []string{`--days="720h": not a number from 1 to 3650`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCerts(tt.args, nil)
			lines := []string{}
			if err != nil {
				lines = strings.Split(err.Error(), "\n")
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d: %v", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %q lacks %q", lines[i], want)
				}
			}
		})
	}
}

func TestSim(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name         string
		args         []string
		env          []string
		masters      int
		masterModes  []string
		agents       int
		modes        []string
		webui, wantE string
	}{
		{"defaults", nil, nil, 1, []string{"plain"}, 4, []string{"plain", "downgrade", "ssl", "ssl"}, "", ""},
		{"fewer agents cut the default modes", []string{"--agents", "2"}, nil, 1, []string{"plain"}, 2, []string{"plain", "downgrade"}, "", ""},
		{"no agents", []string{"--agents=0"}, nil, 1, []string{"plain"}, 0, []string{}, "", ""},
		{"given", []string{"--masters", "3", "--master-modes", "ssl,downgrade", "--modes", "ssl-clientcert", "--webui-dir", f.webui}, nil,
			3, []string{"ssl", "downgrade"}, 4, []string{"ssl-clientcert"}, f.webui, ""},
		{"from the environment", nil, []string{"MESOSGATE_AGENTS=1", "MESOSGATE_MODES=ssl"}, 1, []string{"plain"}, 1, []string{"ssl"}, "", ""},
		{"too many modes", []string{"--agents", "1", "--modes", "ssl,plain"}, nil, 0, nil, 0, nil, "", "--modes gives 2 modes for 1 agents: give at most one per member"},
		{"unknown mode", []string{"--modes", "tls"}, nil, 0, nil, 0, nil, "", `--modes="tls": unknown mode; use plain, downgrade, ssl or ssl-clientcert`},
		{"masters out of range", []string{"--masters", "0"}, nil, 0, nil, 0, nil, "", `--masters="0": not a number from 1 to 9`},
		{"webui without index.html", []string{"--webui-dir", f.dir}, nil, 0, nil, 0, nil, "", "neither app/ and index.html"},
		{"zk without a port", []string{"--zk", "zk://u:s3cret@127.0.0.1/mesos"}, nil, 0, nil, 0, nil, "", `--zk="zk://u:xxxxx@127.0.0.1/mesos": ZooKeeper URL`},
		{"zk-protobuf without zk", []string{"--zk-protobuf"}, nil, 0, nil, 0, nil, "", "--zk-protobuf needs --zk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := LoadSim(tt.args, tt.env)
			if tt.wantE != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantE) || strings.Count(err.Error(), "\n") != 0 {
					t.Errorf("error %v, want one line with %q", err, tt.wantE)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Modes == nil {
				m.Modes = []string{}
			}
			if m.ZK != "" || m.ZKProtobuf {
				t.Errorf("ZooKeeper set by default: %q %v", m.ZK, m.ZKProtobuf)
			}
			if m.Masters != tt.masters || !reflect.DeepEqual(m.MasterModes, tt.masterModes) || m.Agents != tt.agents ||
				!reflect.DeepEqual(m.Modes, tt.modes) || m.WebUIDir != tt.webui {
				t.Errorf("sim settings %+v", m)
			}
		})
	}
}

// TestKnownVariablesAcrossCommands: a variable of one command does not
// warn when another command runs in the same environment.
func TestKnownVariablesAcrossCommands(t *testing.T) {
	g := loadGateway(t, "config", nil, baseEnv("MESOSGATE_AGENTS=3", "MESOSGATE_JSON=true", "MESOSGATE_OUT=/tmp/x"))
	if len(g.Warnings) != 0 {
		t.Errorf("warnings: %q", g.Warnings)
	}
}

// TestSimZK: --zk and --zk-protobuf reach the settings; the password is
// hidden where settings are shown.
func TestSimZK(t *testing.T) {
	m, err := LoadSim([]string{"--zk", "zk://u:s3cret@127.0.0.1:2181/mesos", "--zk-protobuf"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ZK != "zk://u:s3cret@127.0.0.1:2181/mesos" || !m.ZKProtobuf {
		t.Errorf("ZK %q, ZKProtobuf %v", m.ZK, m.ZKProtobuf)
	}
}
