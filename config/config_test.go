package config

import (
	"errors"
	"flag"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// baseEnv is a minimal environment: a home for the default data dir,
// unless extra sets HOME itself.
func baseEnv(extra ...string) []string {
	for _, kv := range extra {
		if strings.HasPrefix(kv, "HOME=") {
			return extra
		}
	}
	return append([]string{"HOME=/home/op"}, extra...)
}

// loadGateway runs Load and fails the test on an error.
func loadGateway(t *testing.T, command string, args, env []string) *Gateway {
	t.Helper()
	g, err := Load(command, args, env)
	if err != nil {
		t.Fatalf("Load(%q, %q): %v", command, args, err)
	}
	return g
}

// files makes a directory with the files the tests point settings at.
type fixture struct {
	dir, cert, key, ca, pass, webui, notDir string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{
		dir:    dir,
		cert:   filepath.Join(dir, "cert.pem"),
		key:    filepath.Join(dir, "key.pem"),
		ca:     filepath.Join(dir, "ca.pem"),
		pass:   filepath.Join(dir, "passphrase"),
		webui:  filepath.Join(dir, "webui"),
		notDir: filepath.Join(dir, "plain-file"),
	}
	// Real PEM: Load checks what the files hold, not only that they can
	// be read.
	ca, err := tlsx.NewCA("config test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(tlsx.LeafRequest{DNSNames: []string{"gw.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.WriteFiles(f.cert, f.key); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{
		f.ca: string(ca.CertPEM()), f.pass: "hunter2-the-passphrase\n", f.notDir: "x",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(f.webui, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.webui, "index.html"), []byte("<html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDefaults(t *testing.T) {
	g := loadGateway(t, "config", nil, baseEnv())
	want := Gateway{
		Listen: ":8443", Links: LinksProxy,
		Cluster: Cluster{
			UpstreamTLS: UpstreamAuto,
			Refresh:     10 * time.Second, ProbeInterval: 30 * time.Second, ProbeTimeout: 5 * time.Second,
			StaleSoftLimit: time.Minute, StaleHardLimit: 10 * time.Minute,
			TLS: tlsx.Settings{Enabled: tlsx.On, EnableTLSv13: tlsx.On},
		},
		CertSource: CertInternal, DataDir: "/home/op/.local/share/mesosgate",
		ACME:              ACME{CA: DefaultACMECA},
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, BodyIdleTimeout: 30 * time.Second, ShutdownTimeout: 30 * time.Second,
		LogFormat: LogText, LogLevel: slog.LevelInfo,
	}
	got := *g
	got.Origins = Origins{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", got, want)
	}
	if len(g.Warnings) != 0 {
		t.Errorf("warnings on a clean environment: %q", g.Warnings)
	}
	for flag, src := range g.Sources {
		if src.Kind != FromDefault {
			t.Errorf("%s: source %v on a clean environment", flag, src)
		}
	}
	if got := g.Sources["ssl-enabled"].String(); got != "default (gateway: HTTPS on the front; libprocess defaults to false)" {
		t.Errorf("ssl-enabled source %q", got)
	}
	if got := g.Sources["ssl-enable-tls-v1-3"].String(); !strings.Contains(got, "gateway") {
		t.Errorf("ssl-enable-tls-v1-3 source %q", got)
	}
}

func TestDataDirDefault(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"XDG_DATA_HOME", []string{"HOME=/home/op", "XDG_DATA_HOME=/data"}, "/data/mesosgate"},
		{"HOME", []string{"HOME=/home/op"}, "/home/op/.local/share/mesosgate"},
		{"relative XDG_DATA_HOME is ignored, as the XDG spec says", []string{"HOME=/home/op", "XDG_DATA_HOME=data"}, "/home/op/.local/share/mesosgate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadGateway(t, "config", nil, tt.env).DataDir; got != tt.want {
				t.Errorf("DataDir = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPrecedence: flag > MESOSGATE_ > LIBPROCESS_SSL_ > SSL_ > default.
func TestPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		depth   int
		source  string
		sslName string
	}{
		{"default", nil, nil, 0, "default", "LIBPROCESS_SSL_VERIFY_DEPTH"},
		{"SSL_", nil, []string{"SSL_VERIFY_DEPTH=2"}, 2, "env SSL_VERIFY_DEPTH", "SSL_VERIFY_DEPTH"},
		{"LIBPROCESS_SSL_ over SSL_", nil, []string{"SSL_VERIFY_DEPTH=2", "LIBPROCESS_SSL_VERIFY_DEPTH=3"}, 3,
			"env LIBPROCESS_SSL_VERIFY_DEPTH", "LIBPROCESS_SSL_VERIFY_DEPTH"},
		{"MESOSGATE_ over LIBPROCESS_SSL_", nil, []string{"SSL_VERIFY_DEPTH=2", "LIBPROCESS_SSL_VERIFY_DEPTH=3", "MESOSGATE_SSL_VERIFY_DEPTH=5"}, 5,
			"env MESOSGATE_SSL_VERIFY_DEPTH", "MESOSGATE_SSL_VERIFY_DEPTH"},
		{"flag over all", []string{"--ssl-verify-depth=6"}, []string{"SSL_VERIFY_DEPTH=2", "LIBPROCESS_SSL_VERIFY_DEPTH=3", "MESOSGATE_SSL_VERIFY_DEPTH=5"}, 6,
			"flag --ssl-verify-depth", "--ssl-verify-depth"},
		{"single dash flag", []string{"-ssl-verify-depth", "7"}, nil, 7, "flag --ssl-verify-depth", "--ssl-verify-depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := loadGateway(t, "config", tt.args, baseEnv(tt.env...))
			if g.TLS.VerifyDepth != tt.depth {
				t.Errorf("VerifyDepth = %d, want %d", g.TLS.VerifyDepth, tt.depth)
			}
			if got := g.Sources["ssl-verify-depth"].String(); got != tt.source {
				t.Errorf("source %q, want %q", got, tt.source)
			}
			if got := g.SSLName("VERIFY_DEPTH"); got != tt.sslName {
				t.Errorf("SSLName = %q, want %q", got, tt.sslName)
			}
		})
	}
	t.Run("plain setting: flag over env over default", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			env  []string
			want string
			src  string
		}{
			{nil, nil, ":8443", "default"},
			{nil, []string{"MESOSGATE_LISTEN=:9000"}, ":9000", "env MESOSGATE_LISTEN"},
			{[]string{"--listen", "127.0.0.1:9001"}, []string{"MESOSGATE_LISTEN=:9000"}, "127.0.0.1:9001", "flag --listen"},
		} {
			g := loadGateway(t, "config", tt.args, baseEnv(tt.env...))
			if g.Listen != tt.want || g.Sources["listen"].String() != tt.src {
				t.Errorf("args %q env %q: Listen %q from %v, want %q from %s", tt.args, tt.env, g.Listen, g.Sources["listen"], tt.want, tt.src)
			}
			if g.Name("listen") != strings.TrimPrefix(strings.TrimPrefix(tt.src, "flag "), "env ") && tt.src != "default" {
				t.Errorf("Name(listen) = %q for source %s", g.Name("listen"), tt.src)
			}
		}
	})
	t.Run("flag false overrides an alias that is true", func(t *testing.T) {
		g := loadGateway(t, "config", []string{"--ssl-verify-server-cert=false"}, baseEnv("LIBPROCESS_SSL_VERIFY_CERT=true"))
		if g.TLS.VerifyServerCert {
			t.Error("VerifyServerCert stayed on")
		}
	})
	t.Run("the first entry of a repeated variable wins, as os.Getenv", func(t *testing.T) {
		g := loadGateway(t, "config", nil, baseEnv("MESOSGATE_LISTEN=:1", "MESOSGATE_LISTEN=:2"))
		if g.Listen != ":1" {
			t.Errorf("Listen = %q", g.Listen)
		}
	})
}

func TestGatewayTLSDefaults(t *testing.T) {
	tests := []struct {
		name          string
		args, env     []string
		enabled, tls3 tlsx.Toggle
	}{
		{"unset: HTTPS and TLS 1.3", nil, nil, tlsx.On, tlsx.On},
		{"explicit false from libprocess", nil, []string{"LIBPROCESS_SSL_ENABLED=false", "LIBPROCESS_SSL_ENABLE_TLS_V1_3=0"}, tlsx.Off, tlsx.Off},
		{"explicit false by flag", []string{"--ssl-enabled=false", "--ssl-enable-tls-v1-3=false"}, nil, tlsx.Off, tlsx.Off},
		{"bare boolean flag", []string{"--ssl-enabled"}, []string{"LIBPROCESS_SSL_ENABLED=0"}, tlsx.On, tlsx.On},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := loadGateway(t, "config", tt.args, baseEnv(tt.env...))
			if g.TLS.Enabled != tt.enabled || g.TLS.EnableTLSv13 != tt.tls3 {
				t.Errorf("Enabled %v, EnableTLSv13 %v; want %v, %v", g.TLS.Enabled, g.TLS.EnableTLSv13, tt.enabled, tt.tls3)
			}
		})
	}
}

func TestValues(t *testing.T) {
	f := newFixture(t)
	args := []string{
		"--master", "http://m1:5050,https://m2:5050", "--master", "m3.example.com:5050", "--master", "https://m4",
		"--links", "direct", "--upstream-tls", "required", "--refresh", "5s", "--probe-interval", "1m",
		"--probe-timeout", "2s", "--stale-soft-limit", "30s", "--stale-hard-limit", "1h",
		"--trusted-proxy", "10.0.0.0/8, 192.0.2.7", "--trusted-proxy=2001:db8::/32",
		"--read-header-timeout", "3s", "--idle-timeout", "1m", "--body-idle-timeout", "5s", "--shutdown-timeout", "0",
		"--log-format", "json", "--log-level", "debug", "--webui-dir", f.webui, "--data-dir", f.dir,
		"--cert-source", "acme", "--acme-domain", "gw.example.com,GW2.example.com.", "--acme-email", "ops@example.com",
		"--acme-ca", "https://localhost:14000/dir", "--acme-ca-root", f.ca,
		"--ssl-cert-file", f.cert, "--ssl-key-file", f.key, "--ssl-key-passphrase-file", f.pass,
	}
	g := loadGateway(t, "serve", args, baseEnv())
	wantMasters := []Master{{"http", "m1:5050"}, {"https", "m2:5050"}, {"", "m3.example.com:5050"}, {"https", "m4:443"}}
	if !reflect.DeepEqual(g.Masters, wantMasters) {
		t.Errorf("Masters = %v", g.Masters)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if !reflect.DeepEqual(g.TrustedProxies, wantProxies) {
		t.Errorf("TrustedProxies = %v", g.TrustedProxies)
	}
	if !reflect.DeepEqual(g.ACME, ACME{CA: "https://localhost:14000/dir", Email: "ops@example.com", CARoot: f.ca, Domains: []string{"gw.example.com", "gw2.example.com"}}) {
		t.Errorf("ACME = %+v", g.ACME)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Links", g.Links, LinksDirect}, {"UpstreamTLS", g.UpstreamTLS, UpstreamRequired},
		{"Refresh", g.Refresh, 5 * time.Second}, {"ProbeInterval", g.ProbeInterval, time.Minute},
		{"ProbeTimeout", g.ProbeTimeout, 2 * time.Second}, {"StaleSoftLimit", g.StaleSoftLimit, 30 * time.Second},
		{"StaleHardLimit", g.StaleHardLimit, time.Hour}, {"ReadHeaderTimeout", g.ReadHeaderTimeout, 3 * time.Second},
		{"IdleTimeout", g.IdleTimeout, time.Minute}, {"BodyIdleTimeout", g.BodyIdleTimeout, 5 * time.Second}, {"ShutdownTimeout", g.ShutdownTimeout, time.Duration(-1)}, // 0 given: none
		{"LogFormat", g.LogFormat, LogJSON}, {"LogLevel", g.LogLevel, slog.LevelDebug},
		{"WebUIDir", g.WebUIDir, f.webui}, {"DataDir", g.DataDir, f.dir}, {"CertSource", g.CertSource, CertACME},
		{"CertFile", g.TLS.CertFile, f.cert}, {"KeyFile", g.TLS.KeyFile, f.key}, {"KeyPassphraseFile", g.TLS.KeyPassphraseFile, f.pass},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := g.Sources["master"]; got.Kind != FromFlag {
		t.Errorf("master source %v", got)
	}
}

func TestCertSourceAuto(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want CertSource
		note string
	}{
		{"nothing: internal", nil, nil, CertInternal, "auto: no CERT_FILE and KEY_FILE, no --acme-domain"},
		{"files from libprocess", nil, []string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert, "LIBPROCESS_SSL_KEY_FILE=" + f.key}, CertFiles, "auto: CERT_FILE and KEY_FILE are set"},
		{"files from the old prefix", nil, []string{"SSL_CERT_FILE=" + f.cert, "SSL_KEY_FILE=" + f.key}, CertFiles, "auto: CERT_FILE and KEY_FILE are set"},
		{"acme", []string{"--acme-domain", "gw.example.com"}, nil, CertACME, "auto: --acme-domain is given"},
		{"explicit acme with CERT_FILE as client certificate", []string{"--cert-source=acme", "--acme-domain", "gw.example.com"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert, "LIBPROCESS_SSL_KEY_FILE=" + f.key}, CertACME, ""},
		{"OpenSSL's SSL_CERT_FILE alone does not make it files", nil, []string{"SSL_CERT_FILE=" + f.ca}, CertInternal, "auto: no CERT_FILE and KEY_FILE, no --acme-domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := loadGateway(t, "serve", append([]string{"--master", "m:5050"}, tt.args...), baseEnv(tt.env...))
			if g.CertSource != tt.want || g.Sources["cert-source"].Note != tt.note {
				t.Errorf("CertSource %q (%s), want %q (%s)", g.CertSource, g.Sources["cert-source"], tt.want, tt.note)
			}
		})
	}
}

// TestValidation checks every rule: each case's problems, one line each,
// in order, each line as fragments separated by "|".
func TestValidation(t *testing.T) {
	f := newFixture(t)
	missing := filepath.Join(f.dir, "missing.pem")
	tests := []struct {
		name    string
		command string
		args    []string
		env     []string
		want    []string
	}{
		{"serve needs a master", "serve", nil, nil, []string{"--master is required|--master http://master1:5050"}},
		{"bad listen", "config", []string{"--listen", "8443"}, nil, []string{`--listen="8443": not host:port|:8443`}},
		{"bad listen port", "config", []string{"--listen", ":http"}, nil, []string{`--listen=":http": port "http" is not a number`}},
		{"listen port out of range", "config", nil, []string{"MESOSGATE_LISTEN=:70000"}, []string{`MESOSGATE_LISTEN=":70000": port "70000"`}},
		{"master without port", "config", []string{"--master", "m1"}, nil, []string{`--master="m1": not a master address|host:port`}},
		{"master with port 0", "config", []string{"--master", "m1:0"}, nil, []string{`--master="m1:0": port "0" is not a number from 1 to 65535`}},
		{"master scheme", "config", []string{"--master", "ftp://m1:21"}, nil, []string{`--master="ftp://m1:21": scheme "ftp" is not http, https, zk or file`}},
		{"master path", "config", []string{"--master", "http://m1:5050/master/state"}, nil, []string{"remove the path"}},
		{"master query", "config", []string{"--master", "http://m1:5050?x=1"}, nil, []string{"remove the path, query or fragment"}},
		{"master given twice", "config", []string{"--master", "http://m1:5050,https://m1:5050"}, nil, []string{`--master="https://m1:5050": master m1:5050 is given twice`}},
		{"master empty host", "config", []string{"--master", "http://:5050"}, nil, []string{"no host"}},
		{"links", "config", []string{"--links", "rewrite"}, nil, []string{`--links="rewrite": unknown value; use proxy or direct`}},
		{"upstream-tls", "config", nil, []string{"MESOSGATE_UPSTREAM_TLS=always"}, []string{`MESOSGATE_UPSTREAM_TLS="always": unknown value; use auto or required`}},
		{"cert-source", "config", []string{"--cert-source", "letsencrypt"}, nil, []string{`unknown value; use auto, files, internal or acme`}},
		{"log-format", "config", []string{"--log-format", "logfmt"}, nil, []string{`use text or json`}},
		{"log-level", "config", []string{"--log-level", "verbose"}, nil, []string{`--log-level="verbose": unknown level; use debug, info, warn or error`}},
		{"duration without unit", "config", []string{"--refresh", "10"}, nil, []string{`--refresh="10": not a duration; write it like 10s`}},
		{"duration too short", "config", []string{"--probe-interval", "100ms"}, nil, []string{`--probe-interval="100ms": too short; use at least 1s`}},
		{"zero timeout", "config", []string{"--read-header-timeout", "0s"}, nil, []string{`--read-header-timeout="0s": must be more than zero`}},
		{"negative duration", "config", []string{"--shutdown-timeout=-1s"}, nil, []string{`--shutdown-timeout="-1s": negative`}},
		{"soft limit within a refresh", "config", []string{"--refresh", "1m"}, nil, []string{"--stale-soft-limit=1m0s must be longer than --refresh=1m0s"}},
		{"hard limit under soft", "config", nil, []string{"MESOSGATE_STALE_HARD_LIMIT=30s"}, []string{"MESOSGATE_STALE_HARD_LIMIT=30s must be longer than --stale-soft-limit=1m0s"}},
		{"probe timeout over interval", "config", []string{"--probe-timeout", "30s"}, nil, []string{"--probe-timeout=30s must be shorter than --probe-interval=30s"}},
		{"trusted proxy", "config", []string{"--trusted-proxy", "10.0.0.0/33"}, nil, []string{`--trusted-proxy="10.0.0.0/33": not an IP address or CIDR`}},
		{"trusted proxy host bits", "config", []string{"--trusted-proxy", "10.1.2.3/8"}, nil, []string{`has host bits set; write the network, 10.0.0.0/8`}},
		{"acme-ca not https", "config", []string{"--cert-source=acme", "--acme-domain=a.example", "--acme-ca", "http://ca/dir"}, nil, []string{`--acme-ca="http://ca/dir": not an https:// URL`}},
		{"oidc client id without issuer", "config", []string{"--oidc-client-id", "gw"}, nil, []string{"--oidc-client-id is set but --oidc-issuer is not"}},
		{"oidc issuer without client", "config", []string{"--oidc-issuer", "https://idp.example.com", "--session-key-file", f.key, "--server-name", "gw.example.com", "--viewers", "*"}, nil,
			[]string{"--oidc-issuer is set but --oidc-client-id is not"}},
		{"oidc issuer over http", "config", []string{"--oidc-issuer", "http://idp.example.com"}, nil, []string{`--oidc-issuer="http://idp.example.com": not an https:// URL`}},
		{"oidc without a redirect", "config", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "gw", "--session-key-file", f.key, "--viewers", "*"}, nil,
			[]string{"give --oidc-redirect-url"}},
		{"session key file missing", "config", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "gw", "--session-key-file", "/nonexistent/key", "--server-name", "gw.example.com", "--viewers", "*"}, nil,
			[]string{`--session-key-file="/nonexistent/key": does not exist`}},
		{"roles without identification", "config", []string{"--operators", "alice@example.com"}, nil, []string{"--viewers and --operators need a way to identify clients"}},
		{"bad role entry", "config", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "gw", "--session-key-file", f.key, "--server-name", "gw.example.com", "--viewers", "team:ops"}, nil,
			[]string{`--viewers="team:ops": entry "team:ops" has an unknown prefix`}},
		{"identified, nobody named", "config", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "gw", "--session-key-file", f.key, "--server-name", "gw.example.com"}, nil,
			[]string{"no one has a role: name them in --viewers and --operators"}},
		{"allow-writes with authentication", "config", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "gw", "--session-key-file", f.key, "--server-name", "gw.example.com", "--allow-writes", "--viewers", "*"}, nil,
			[]string{"--allow-writes makes everyone an operator"}},
		{"no TLS version", "config", []string{"--ssl-enable-tls-v1-2=false", "--ssl-enable-tls-v1-3=false"}, nil, []string{"every TLS version is disabled: set --ssl-enable-tls-v1-2 or --ssl-enable-tls-v1-3 to true"}},
		{"client-ca unreadable", "config", []string{"--client-ca", "/nonexistent/ca.pem", "--viewers", "cn:alice"}, nil, []string{`--client-ca="/nonexistent/ca.pem": does not exist`}},
		{"acme-email", "config", []string{"--cert-source=acme", "--acme-domain=a.example", "--acme-email", "Ops <ops@example.com>"}, nil, []string{`not an email address`}},
		{"acme-domain IP", "config", []string{"--acme-domain", "192.0.2.1"}, nil, []string{`--acme-domain="192.0.2.1": an IP address|--cert-source internal`}},
		{"acme-domain wildcard", "config", []string{"--acme-domain", "*.example.com"}, nil, []string{`a wildcard needs a DNS challenge`}},
		{"acme-domain URL", "config", []string{"--acme-domain", "https://gw.example.com"}, nil, []string{`not a DNS name; write it like gateway.example.com, without scheme or port`}},
		{"server-name URL", "config", []string{"--server-name", "https://gw.example.com:8443"}, nil, []string{`--server-name="https://gw.example.com:8443": neither a DNS name nor an IP address`}},
		{"server-name with a zone", "config", []string{"--server-name", "fe80::1%eth0"}, nil, []string{`an address with a zone`}},
		{"server-name with acme", "config", []string{"--acme-domain", "a.example", "--server-name", "b.example"}, nil,
			[]string{"--server-name is set but the front's certificate comes from acme, not the internal CA; give the names to --acme-domain instead"}},
		{"server-name with files", "config", []string{"--server-name", "b.example"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert, "LIBPROCESS_SSL_KEY_FILE=" + f.key},
			[]string{"--server-name is set but the front's certificate comes from files"}},
		{"files without a pair", "config", []string{"--cert-source", "files"}, nil,
			[]string{"--cert-source=files needs a certificate and its key: set LIBPROCESS_SSL_CERT_FILE and LIBPROCESS_SSL_KEY_FILE"}},
		{"acme without a domain", "config", nil, []string{"MESOSGATE_CERT_SOURCE=acme"}, []string{"MESOSGATE_CERT_SOURCE=acme needs the names|--acme-domain"}},
		{"acme settings with internal", "config", []string{"--cert-source", "internal", "--acme-email", "ops@example.com", "--acme-domain", "a.example"}, nil,
			[]string{"--acme-domain is set but the front's certificate comes from internal|--cert-source acme", "--acme-email is set but"}},
		{"acme domain ignored because files win auto", "config", []string{"--acme-domain", "a.example"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert, "LIBPROCESS_SSL_KEY_FILE=" + f.key},
			[]string{"--acme-domain is set but the front's certificate comes from files because LIBPROCESS_SSL_CERT_FILE and LIBPROCESS_SSL_KEY_FILE are set"}},
		{"certificate source with a plain front", "config", []string{"--cert-source", "internal"}, []string{"LIBPROCESS_SSL_ENABLED=false"},
			[]string{
				"--cert-source=internal has no effect: the front serves plain HTTP because LIBPROCESS_SSL_ENABLED=false",
				"warning: LIBPROCESS_SSL_ENABLED=false makes the gateway's front plain HTTP",
			}},
		{"cert without key", "config", nil, []string{"LIBPROCESS_SSL_CERT_FILE=" + f.cert},
			[]string{"LIBPROCESS_SSL_CERT_FILE is set but LIBPROCESS_SSL_KEY_FILE is not: set both"}},
		{"key without cert, named as written", "config", []string{"--ssl-key-file", f.key}, nil,
			[]string{"--ssl-key-file is set but LIBPROCESS_SSL_CERT_FILE is not"}},
		{"passphrase without key", "config", nil, []string{"MESOSGATE_SSL_KEY_PASSPHRASE_FILE=" + f.pass},
			[]string{"MESOSGATE_SSL_KEY_PASSPHRASE_FILE is set but there is no key to decrypt"}},
		{"missing files", "config", []string{"--ssl-ca-file", missing, "--ssl-ca-dir", f.notDir}, []string{"LIBPROCESS_SSL_CERT_FILE=" + missing, "SSL_KEY_FILE=" + f.dir},
			[]string{
				`LIBPROCESS_SSL_CERT_FILE="` + missing + `": does not exist; check the path`,
				`SSL_KEY_FILE="` + f.dir + `": is a directory; give a file`,
				`--ssl-ca-file="` + missing + `": does not exist`,
				`--ssl-ca-dir="` + f.notDir + `": is not a directory`,
			}},
		{"acme-ca-root missing", "config", []string{"--cert-source=acme", "--acme-domain=a.example", "--acme-ca-root", missing}, nil,
			[]string{`--acme-ca-root="` + missing + `": does not exist`}},
		{"webui-dir without index.html", "config", []string{"--webui-dir", f.dir}, nil,
			[]string{`--webui-dir="` + f.dir + `": neither app/ and index.html (Mesos 1.6 and later) nor master/static/index.html (Mesos 0.23 to 1.5)`}},
		{"webui-dir missing", "config", []string{"--webui-dir", missing}, nil, []string{`--webui-dir="` + missing + `": does not exist`}},
		{"data-dir is a file", "config", []string{"--data-dir", f.notDir}, nil, []string{`--data-dir="` + f.notDir + `": is a file, not a directory`}},
		{"no home for the data dir", "config", nil, []string{"HOME="}, []string{"--data-dir has no default here"}},
		{"given twice", "config", []string{"--listen", ":1", "--listen", ":2"}, nil, []string{"--listen is given 2 times: give it once"}},
		{"unknown flag", "config", []string{"--lsten", ":1"}, nil, []string{`unknown flag --lsten|mesosgate config --help`}},
		{"flag without value", "config", []string{"--listen"}, nil, []string{"flag --listen needs a value"}},
		{"positional argument", "config", []string{"serve"}, nil, []string{`unexpected argument "serve"`}},
		{"boolean flag with a separate value", "config", []string{"--ssl-enabled", "false"}, nil, []string{`unexpected argument "false"|--flag=false`}},
		{"bad boolean flag", "config", []string{"--ssl-verify-server-cert=yes"}, nil, []string{`--ssl-verify-server-cert="yes": not a boolean; use true or false`}},
		{"bad MESOSGATE_SSL_ value", "config", nil, []string{"MESOSGATE_SSL_HOSTNAME_VALIDATION_SCHEME=strict"},
			[]string{`MESOSGATE_SSL_HOSTNAME_VALIDATION_SCHEME="strict": unknown scheme; use legacy or openssl`}},
		{"SSLv3 by flag", "config", []string{"--ssl-enable-ssl-v3"}, nil, []string{`--ssl-enable-ssl-v3="true": Go has no SSLv3`}},
		{"libprocess value", "config", nil, []string{"LIBPROCESS_SSL_ENABLED=yes"}, []string{`LIBPROCESS_SSL_ENABLED="yes": not a boolean; use true or false`}},
		{"every problem at once", "serve", []string{"--refresh", "x", "--links", "y"}, []string{"LIBPROCESS_SSL_VERIFY_DEPTH=0", "MESOSGATE_LOG_LEVEL=loud"},
			[]string{
				`LIBPROCESS_SSL_VERIFY_DEPTH="0"`,
				`--links="y"`,
				`--refresh="x"`,
				`MESOSGATE_LOG_LEVEL="loud"`,
				"--master is required",
				"warning: LIBPROCESS_SSL_VERIFY_DEPTH is read here, but libprocess itself ignores it",
			}},
		{"a bad libprocess value is reported once, not through the rules it takes part in", "config", []string{"--cert-source=files"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=", "LIBPROCESS_SSL_KEY_FILE=" + f.key},
			[]string{`LIBPROCESS_SSL_CERT_FILE="": empty; give a path`}},
		{"a bad value overridden by a flag is still reported", "config", []string{"--ssl-enabled=true"}, []string{"LIBPROCESS_SSL_ENABLED=yes"},
			[]string{`LIBPROCESS_SSL_ENABLED="yes": not a boolean`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Load(tt.command, tt.args, baseEnv(tt.env...))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", g)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				for _, frag := range strings.Split(want, "|") {
					if !strings.Contains(lines[i], frag) {
						t.Errorf("line %d %q does not contain %q", i, lines[i], frag)
					}
				}
			}
		})
	}
}

// TestUnreadableFile: a CA file the gateway may not read is one error
// naming the permission. Root reads every file, so as root the check runs
// in a copy of this test binary started as nobody (uid 65534), on a copy
// of the file in a directory nobody may enter.
func TestUnreadableFile(t *testing.T) {
	if ca := os.Getenv(unreadableEnv); ca != "" {
		checkUnreadable(t, ca) // the copy, as nobody
		return
	}
	f := newFixture(t)
	if os.Geteuid() != 0 {
		if err := os.Chmod(f.ca, 0); err != nil {
			t.Fatal(err)
		}
		checkUnreadable(t, f.ca)
		return
	}
	dir, err := os.MkdirTemp("", "mesosgate-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin, ca := filepath.Join(dir, "config.test"), filepath.Join(dir, "ca.pem")
	copyFile(t, os.Args[0], bin, 0o755)
	copyFile(t, f.ca, ca, 0)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestUnreadableFile$", "-test.count=1")
	cmd.Env = []string{unreadableEnv + "=" + ca}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("as nobody: %v\n%s", err, out)
	}
}

// unreadableEnv hands TestUnreadableFile's copy the file to try.
const unreadableEnv = "MESOSGATE_TEST_UNREADABLE_CA"

func checkUnreadable(t *testing.T, ca string) {
	t.Helper()
	_, err := Load("config", []string{"--ssl-ca-file", ca}, baseEnv())
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), ca) {
		t.Errorf("error %v", err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil { // WriteFile's mode passes the umask
		t.Fatal(err)
	}
}

// TestSecretsHidden: a password in a master URL never appears in an error,
// and the key passphrase is never read, so it appears nowhere.
func TestSecretsHidden(t *testing.T) {
	_, err := Load("config", []string{"--master", "https://admin:s3cret-pw@m1:5050"}, baseEnv())
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "admin:xxxxx@m1:5050") {
		t.Errorf("error %v", err)
	}
	_, err = Load("config", nil, baseEnv("MESOSGATE_MASTER=http://m2:5050,https://ops:s3cret-pw@m1:5050/x"))
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error %v", err)
	}
	f := newFixture(t)
	g := loadGateway(t, "config", []string{"--ssl-cert-file", f.cert, "--ssl-key-file", f.key, "--ssl-key-passphrase-file", f.pass}, baseEnv())
	var out strings.Builder
	if err := g.Print(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "hunter2") || !strings.Contains(out.String(), f.pass) {
		t.Errorf("printed settings show the passphrase or hide its file:\n%s", out.String())
	}
}

func TestWarnings(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"none", nil, nil, nil},
		{"REQUIRE_CLIENT_CERT inherited from the cluster", nil, []string{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true", "LIBPROCESS_SSL_VERIFY_SERVER_CERT=true"},
			[]string{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true applies to the gateway's front too: browsers must present a client certificate|MESOSGATE_SSL_REQUIRE_CLIENT_CERT=false"}},
		{"REQUIRE_CLIENT_CERT asked of the gateway itself", []string{"--ssl-require-client-cert", "--ssl-verify-server-cert"}, nil, nil},
		{"ENABLED=false inherited", nil, []string{"LIBPROCESS_SSL_ENABLED=false"},
			[]string{"LIBPROCESS_SSL_ENABLED=false makes the gateway's front plain HTTP; set MESOSGATE_SSL_ENABLED=true"}},
		{"ENABLED=false for the gateway alone", nil, []string{"MESOSGATE_SSL_ENABLED=false"}, nil},
		{"downgrade with verification, names as written", []string{"--ssl-support-downgrade"}, []string{"SSL_VERIFY_SERVER_CERT=1"},
			[]string{
				"--ssl-support-downgrade=true: plain connections are accepted",
				"SSL_VERIFY_SERVER_CERT=true can be bypassed because downgrades are enabled (--ssl-support-downgrade=true)",
			}},
		{"downgrade turned off for the gateway: no advice", []string{"--ssl-support-downgrade=false"},
			[]string{"LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", "LIBPROCESS_SSL_VERIFY_SERVER_CERT=true"}, nil},
		{"libprocess variable warnings pass through", nil, []string{"LIBPROCESS_SSL_VERIFY_CERT=true"},
			[]string{"LIBPROCESS_SSL_VERIFY_CERT is deprecated"}},
		{"trusting everyone", []string{"--trusted-proxy", "0.0.0.0/0"}, nil,
			[]string{"--trusted-proxy includes 0.0.0.0/0: X-Forwarded-* headers from every client are believed"}},
		{"misspelt variables", nil, []string{"MESOSGATE_LISTN=:1", "LIBPROCESS_SSL_ENABLE_DOWNGRADE=true", "LIBPROCESS_SSL_KEY_PASSPHRASE_FILE=" + f.pass,
			"LIBPROCESS_SSL_Verify_Ipadd=true", "MESOSGATE_SOMETHING_ELSE_ENTIRELY=1", "SSL_ANYTHING=1", "LIBPROCESS_IP=10.0.0.1"},
			[]string{
				"LIBPROCESS_SSL_ENABLE_DOWNGRADE is not a libprocess SSL variable and is ignored; did you mean LIBPROCESS_SSL_SUPPORT_DOWNGRADE?",
				"LIBPROCESS_SSL_KEY_PASSPHRASE_FILE is not a libprocess SSL variable and is ignored; did you mean MESOSGATE_SSL_KEY_PASSPHRASE_FILE?",
				"LIBPROCESS_SSL_Verify_Ipadd is ignored: libprocess reads it whatever its case|LIBPROCESS_SSL_VERIFY_IPADD",
				"MESOSGATE_LISTN is not a mesosgate setting and is ignored; did you mean MESOSGATE_LISTEN?",
				"MESOSGATE_SOMETHING_ELSE_ENTIRELY is not a mesosgate setting and is ignored",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := loadGateway(t, "config", tt.args, baseEnv(tt.env...))
			if len(g.Warnings) != len(tt.want) {
				t.Fatalf("got %d warnings, want %d:\n%s", len(g.Warnings), len(tt.want), strings.Join(g.Warnings, "\n"))
			}
			for i, want := range tt.want {
				for _, frag := range strings.Split(want, "|") {
					if !strings.Contains(g.Warnings[i], frag) {
						t.Errorf("warning %d %q does not contain %q", i, g.Warnings[i], frag)
					}
				}
			}
		})
	}
	t.Run("warnings follow the problems when loading fails", func(t *testing.T) {
		_, err := Load("serve", nil, baseEnv("MESOSGATE_MASTR=http://m1:5050"))
		want := "--master is required|\nwarning: MESOSGATE_MASTR is not a mesosgate setting and is ignored; did you mean MESOSGATE_MASTER?"
		for _, frag := range strings.Split(want, "|") {
			if err == nil || !strings.Contains(err.Error(), frag) {
				t.Errorf("error %v does not contain %q", err, frag)
			}
		}
	})
}

func TestDemo(t *testing.T) {
	f := newFixture(t)
	g := loadGateway(t, "demo", []string{"--webui-dir", f.webui}, baseEnv("LIBPROCESS_SSL_ENABLED=false", "LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true"))
	if g.Listen != DefaultDemoListen || g.CertSource != CertInternal || g.WebUIDir != f.webui {
		t.Errorf("demo: listen %q, cert source %q, webui %q", g.Listen, g.CertSource, g.WebUIDir)
	}
	if g.TLS != (tlsx.Settings{Enabled: tlsx.On, EnableTLSv13: tlsx.On}) {
		t.Errorf("demo reads the libprocess environment: %+v", g.TLS)
	}
	if g.Refresh != DefaultRefresh || g.StaleHardLimit != DefaultStaleHardLimit || g.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("demo defaults missing: %+v", g)
	}
	// Framework UIs on <name>.localhost by default; an empty value puts
	// them back under /service/ (path mode), as for serve.
	if g.ServiceDomain != DefaultDemoServiceDomain || g.ServicePort != "" {
		t.Errorf("demo's service domain %q port %q, want %q", g.ServiceDomain, g.ServicePort, DefaultDemoServiceDomain)
	}
	if g := loadGateway(t, "demo", []string{"--service-domain="}, baseEnv()); g.ServiceDomain != "" {
		t.Errorf("demo --service-domain= gives %q, want path mode", g.ServiceDomain)
	}
	if g := loadGateway(t, "serve", []string{"--master", "m:5050", "--service-domain", "apps.example.com:443"}, baseEnv()); g.ServiceDomain != "apps.example.com" || g.ServicePort != "443" {
		t.Errorf("serve --service-domain apps.example.com:443 gives %q port %q", g.ServiceDomain, g.ServicePort)
	}
	if _, err := Load("demo", []string{"--master", "m:5050"}, baseEnv()); err == nil || !strings.Contains(err.Error(), "unknown flag --master: mesosgate demo has no such flag") {
		t.Errorf("demo accepts --master: %v", err)
	}
}

func TestLoadUnknownCommand(t *testing.T) {
	if _, err := Load("sim", nil, nil); err == nil {
		t.Error("Load accepted a command that is not a gateway's")
	}
}

func TestHelp(t *testing.T) {
	_, err := Load("config", []string{"--ssl-enabled=yes", "-h"}, baseEnv())
	var help *HelpError
	if !errors.As(err, &help) {
		t.Fatalf("error %v is not a HelpError", err)
	}
	var g Gateway
	s := newSet("config", environ{})
	g.define(s)
	for _, st := range s.list {
		line := "--" + st.flag
		if st.placeholder != "" {
			line += " " + st.placeholder
		}
		line += "  [" + st.env
		if !strings.Contains(help.Flags, "  "+line) {
			t.Errorf("help lacks %q", line)
		}
	}
	for _, want := range []string{
		"[MESOSGATE_SSL_VERIFY_DEPTH, then LIBPROCESS_SSL_VERIFY_DEPTH or LIBPROCESS_SSL_VERIFICATION_DEPTH (or SSL_...)]",
		"default true (gateway: HTTPS on the front; libprocess defaults to false)",
		"[MESOSGATE_SSL_KEY_PASSPHRASE_FILE]",
		"default $XDG_DATA_HOME/mesosgate or ~/.local/share/mesosgate",
	} {
		if !strings.Contains(help.Flags, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestPrint compares `mesosgate config`'s table with a golden file: each
// setting's value and where it came from. Run with -update to rewrite it.
func TestPrint(t *testing.T) {
	env := []string{
		"HOME=/home/op",
		"LIBPROCESS_SSL_ENABLED=true",
		"SSL_SUPPORT_DOWNGRADE=false",
		"LIBPROCESS_SSL_VERIFY_CERT=true",
		"LIBPROCESS_SSL_VERIFICATION_DEPTH=2",
		"LIBPROCESS_SSL_CIPHERS=AES128-SHA:AES256-SHA:RC4-SHA",
		"MESOSGATE_SSL_HOSTNAME_VALIDATION_SCHEME=openssl",
		"MESOSGATE_LOG_FORMAT=json",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}
	args := []string{"--master", "http://m1:5050,m2:5050", "--ssl-enable-tls-v1-3=false", "--trusted-proxy", "10.0.0.0/8", "--refresh", "15s"}
	g := loadGateway(t, "config", args, env)
	var out strings.Builder
	if err := g.Print(&out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "print.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestPrint -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("printed settings differ from %s (run with -update if intended):\n%s", golden, out.String())
	}
	// Every setting is printed, once.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(g.Sources)+1 {
		t.Errorf("%d lines for %d settings", len(lines), len(g.Sources))
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "with space": "with space", "": `""`, "tab\there": `"tab\there"`, "new\nline": `"new\nline"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := knownVariables()
	for in, want := range map[string]string{
		"MESOSGATE_MASTR":                "MESOSGATE_MASTER",
		"MESOSGATE_SSL_VERIFY_SRVR_CERT": "MESOSGATE_SSL_VERIFY_SERVER_CERT",
		"LIBPROCESS_SSL_CA_FIL":          "LIBPROCESS_SSL_CA_FILE",
		"MESOSGATE_TOTALLY_DIFFERENT":    "",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
