package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/tlsx"
)

// The peers of SPEC section 12: other reverse proxies measured next to
// mesosgate in the same run, each an unprivileged process on a loopback
// port with a configuration written into a temporary directory, in front
// of the same simulated member as the gateway:
//
//   - nginx, Caddy and HAProxy proxy small JSONP requests over HTTP/1.1
//     and HTTP/2 (BenchmarkJSONP, BenchmarkJSONPHTTP2) and the 1 GiB
//     download (BenchmarkDownload, Apache too);
//   - Apache httpd with mod_proxy_html rewrites the listing page's links,
//     and nginx's sub_filter substitutes them literally
//     (BenchmarkListingPage).
//
// Each serves HTTPS with the same kind of certificate as the gateway (an
// ECDSA P-256 leaf for localhost and 127.0.0.1 from the cluster's CA) and
// reaches the member over HTTPS, verifying it against the cluster's CA,
// on keep-alive connections. Members speak libprocess's default cipher
// list (sim.MemberCiphers), of which a modern client shares only the RSA
// key exchange AES-CBC suites on TLS 1.2. Each peer negotiates with the
// member what the gateway does, TLS_RSA_WITH_AES_128_CBC_SHA on TLS 1.2
// (the member's preference among the suites both accept; seen by a Go
// server with the member's certificate and suites recording each
// connection's state, and for Apache in its ssl:debug log):
//
//   - nginx, HAProxy and Apache are configured to offer exactly AES128-SHA
//     on TLS 1.2 (proxy_ssl_ciphers, ciphers, SSLProxyCipherSuite), so a
//     session that works is that suite;
//   - Caddy 2.6 has no setting for its upstream suites; Debian's build
//     (Go 1.19) still offers Go's RSA key exchange suites by default, and
//     the member picks AES128-SHA from them.
//
// Toward the benchmark's client every front negotiates TLS 1.3 with
// TLS_AES_128_GCM_SHA256 (startPeer checks the version).
//
// Workers, on the 2-core machine the numbers come from: mesosgate and
// Caddy are Go programs with GOMAXPROCS at the number of cores; nginx runs
// worker_processes auto (one per core); HAProxy one thread per core
// (nbthread); Apache's event MPM runs one child process per core with 25
// threads each. nginx, Caddy and HAProxy offer h2 and http/1.1 by ALPN, as
// the gateway does; Apache (no mod_http2 loaded) http/1.1 only.

// peer is a reverse proxy other than mesosgate, running for a benchmark.
// When its program is missing, skip says so and the rest is empty.
type peer struct {
	name   string
	url    string // https://localhost:port
	client *http.Client
	pid    int // the peer's first process (nginx's and Apache's parent)
	skip   string
}

// peerProgram is the command a peer runs and the Debian package that
// provides it.
type peerProgram struct {
	command, pkg string
}

var (
	nginxProgram   = peerProgram{"nginx", "nginx"}
	caddyProgram   = peerProgram{"caddy", "caddy"}
	apacheProgram  = peerProgram{"apache2", "apache2"}
	haproxyProgram = peerProgram{"haproxy", "haproxy"}
)

// find returns the program's path, or a message naming the package to
// install.
func (p peerProgram) find() (string, string) {
	// Debian installs nginx and apache2 in /usr/sbin, which a user's PATH
	// may lack.
	path, err := exec.LookPath(p.command)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, p.command)); serr == nil {
				return filepath.Join(dir, p.command), ""
			}
		}
		return "", fmt.Sprintf("%s is not installed: install the Debian package %s (make bench does, as root)", p.command, p.pkg)
	}
	return path, ""
}

// peerSite is what a peer's configuration says.
type peerSite struct {
	Dir               string // the peer's own directory
	Listen            string // 127.0.0.1:port
	CertFile, KeyFile string // its front certificate
	CAFile            string // the cluster's CA, to verify the member
	Member            string // the member's 127.0.0.1:port
	MemberHost        string // the member's host:port, the name it is verified by
	Prefix            string // "/agent/ID" or "" for the whole member
	// URLMap maps link prefixes in HTML (Apache's ProxyHTMLURLMap,
	// nginx's sub_filter).
	URLMap  map[string]string
	PEMFile string // CertFile and KeyFile in one (HAProxy's crt)
	Root    bool   // the benchmark runs as root
	Workers int    // processes for the cores: runtime.NumCPU
}

// ApacheThreads is Apache's MaxRequestWorkers: 25 threads a process.
func (s peerSite) ApacheThreads() int { return 25 * s.Workers }

// newPeerSite gives a peer a directory, a free loopback port and a front
// certificate like the gateway's, in front of member (127.0.0.1:port).
func newPeerSite(tb testing.TB, member, prefix string) peerSite {
	tb.Helper()
	dir := tb.TempDir()
	leaf, err := pki.CA.Issue(tlsx.LeafRequest{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		tb.Fatal(err)
	}
	s := peerSite{
		Dir:        dir,
		Listen:     "127.0.0.1:" + strconv.Itoa(freePort(tb)),
		CertFile:   filepath.Join(dir, "front.pem"),
		KeyFile:    filepath.Join(dir, "front-key.pem"),
		CAFile:     pki.CAFile,
		Member:     member,
		MemberHost: "localhost:" + member[strings.LastIndexByte(member, ':')+1:],
		Prefix:     prefix,
		Root:       os.Geteuid() == 0,
		Workers:    runtime.NumCPU(),
	}
	if err := leaf.WriteFiles(s.CertFile, s.KeyFile); err != nil {
		tb.Fatal(err)
	}
	cert, _ := os.ReadFile(s.CertFile)
	key, _ := os.ReadFile(s.KeyFile)
	s.PEMFile = filepath.Join(dir, "front-combined.pem")
	if err := os.WriteFile(s.PEMFile, append(cert, key...), 0o600); err != nil {
		tb.Fatal(err)
	}
	return s
}

// freePort returns a loopback port nothing listens on (for a program that
// takes its port from a file).
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxConf proxies Prefix to the member on a pool of keep-alive
// connections, HTTP/2 or HTTP/1.1 toward the client as ALPN says.
// keepalive_requests is raised on both sides: nginx's default of 1000 would
// close (and make the client and nginx handshake again) where the gateway
// and Caddy keep the connection. With a URLMap, sub_filter replaces each
// link prefix in HTML literally (no tokenizing: the nearest nginx has to
// rewriting), asking the member for identity so it can.
const nginxConf = `{{if .Root}}user root;
{{end}}worker_processes auto;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    upstream member {
        server {{.Member}};
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen {{.Listen}} ssl http2;
        ssl_certificate {{.CertFile}};
        ssl_certificate_key {{.KeyFile}};
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 1000000;
        location {{.Prefix}}/ {
            proxy_pass https://member/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host {{.MemberHost}};
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {{.CAFile}};
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_ssl_protocols TLSv1.2;
            proxy_ssl_ciphers AES128-SHA;
            proxy_ssl_session_reuse on;
{{- if .URLMap}}
            proxy_set_header Accept-Encoding "";
            sub_filter_once off;
            sub_filter_types text/html;
{{- range $from, $to := .URLMap}}
            sub_filter '{{$from}}' '{{$to}}';
{{- end}}
{{- end}}
        }
    }
}
`

// startNginx runs nginx in front of member, serving it under prefix,
// substituting urlMap's link prefixes in HTML when there are any.
func startNginx(tb testing.TB, member, prefix string, urlMap map[string]string) *peer {
	tb.Helper()
	bin, skip := nginxProgram.find()
	if skip != "" {
		return &peer{name: "nginx", skip: skip}
	}
	s := newPeerSite(tb, member, prefix)
	s.URLMap = urlMap
	conf := writeTemplate(tb, s.Dir, "nginx.conf", nginxConf, s)
	cmd := exec.Command(bin, "-p", s.Dir, "-c", conf, "-g", "daemon off;")
	return startPeer(tb, "nginx", cmd, s, filepath.Join(s.Dir, "error.log"))
}

// caddyConf is Caddy's native JSON: no admin endpoint, no automatic HTTPS,
// no HTTP/3 listener, the front certificate loaded from files, Prefix stripped and proxied to
// the member with its idle pool sized like nginx's.
const caddyConf = `{
  "admin": {"disabled": true},
  "logging": {"logs": {"default": {"level": "ERROR"}}},
  "storage": {"module": "file_system", "root": "{{.Dir}}/storage"},
  "apps": {
    "tls": {"certificates": {"load_files": [
      {"certificate": "{{.CertFile}}", "key": "{{.KeyFile}}", "tags": ["front"]}
    ]}},
    "http": {"servers": {"bench": {
      "listen": ["{{.Listen}}"],
      "protocols": ["h1", "h2"],
      "automatic_https": {"disable": true},
      "tls_connection_policies": [{
        "certificate_selection": {"any_tag": ["front"]},
        "protocol_min": "tls1.2"
      }],
      "routes": [{
        "match": [{"path": ["{{.Prefix}}/*"]}],
        "handle": [
          {"handler": "rewrite", "strip_path_prefix": "{{.Prefix}}"},
          {"handler": "reverse_proxy",
           "upstreams": [{"dial": "{{.Member}}"}],
           "headers": {"request": {"set": {"Host": ["{{.MemberHost}}"]}}},
           "transport": {
             "protocol": "http",
             "versions": ["1.1"],
             "keep_alive": {"enabled": true, "max_idle_conns_per_host": 64},
             "tls": {"root_ca_pem_files": ["{{.CAFile}}"], "server_name": "localhost"}
           }}
        ]
      }]
    }}}
  }
}
`

// startCaddy runs Caddy in front of member, serving it under prefix.
func startCaddy(tb testing.TB, member, prefix string) *peer {
	tb.Helper()
	bin, skip := caddyProgram.find()
	if skip != "" {
		return &peer{name: "caddy", skip: skip}
	}
	s := newPeerSite(tb, member, prefix)
	conf := writeTemplate(tb, s.Dir, "caddy.json", caddyConf, s)
	cmd := exec.Command(bin, "run", "--config", conf)
	cmd.Env = []string{
		"HOME=" + s.Dir,
		"PATH=" + os.Getenv("PATH"),
		"XDG_DATA_HOME=" + filepath.Join(s.Dir, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(s.Dir, "config"),
	}
	return startPeer(tb, "caddy", cmd, s, "")
}

// apacheConf proxies the whole member and rewrites its HTML with
// mod_proxy_html, mapping each URLMap prefix as mesosgate does. The links
// that take a URL are the HTML 4 set Debian's proxy_html.conf declares.
// Apache refuses to serve as root: then its children run as nobody, after
// the parent (root) has read the certificates and opened the log.
const apacheConf = `ServerRoot {{.Dir}}
PidFile {{.Dir}}/httpd.pid
DefaultRuntimeDir {{.Dir}}
ErrorLog {{.Dir}}/error.log
LogLevel warn
ServerName localhost
{{if .Root}}User nobody
Group nogroup
{{end}}LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule xml2enc_module /usr/lib/apache2/modules/mod_xml2enc.so
LoadModule proxy_html_module /usr/lib/apache2/modules/mod_proxy_html.so
StartServers {{.Workers}}
ServerLimit {{.Workers}}
ThreadsPerChild 25
MaxRequestWorkers {{.ApacheThreads}}
MinSpareThreads 25
MaxSpareThreads 50
KeepAlive On
MaxKeepAliveRequests 0
SSLSessionCache shmcb:{{.Dir}}/ssl_scache(512000)
Listen {{.Listen}}
<VirtualHost {{.Listen}}>
    SSLEngine on
    SSLCertificateFile {{.CertFile}}
    SSLCertificateKeyFile {{.KeyFile}}
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLProxyEngine on
    SSLProxyVerify require
    SSLProxyCACertificateFile {{.CAFile}}
    SSLProxyCheckPeerName on
    SSLProxyProtocol -all +TLSv1.2
    SSLProxyCipherSuite AES128-SHA
    ProxyPass {{.Prefix}}/ https://{{.MemberHost}}/
    ProxyHTMLEnable On
    ProxyHTMLLinks a href
    ProxyHTMLLinks area href
    ProxyHTMLLinks link href
    ProxyHTMLLinks img src longdesc usemap
    ProxyHTMLLinks object classid codebase data usemap
    ProxyHTMLLinks q cite
    ProxyHTMLLinks blockquote cite
    ProxyHTMLLinks ins cite
    ProxyHTMLLinks del cite
    ProxyHTMLLinks form action
    ProxyHTMLLinks input src usemap
    ProxyHTMLLinks head profile
    ProxyHTMLLinks base href
    ProxyHTMLLinks script src for
{{range $from, $to := .URLMap}}    ProxyHTMLURLMap {{$from}} {{$to}}
{{end}}</VirtualHost>
`

// startApache runs Apache httpd in front of member, serving it under
// prefix and rewriting the links of its HTML pages by urlMap (prefix to
// prefix).
func startApache(tb testing.TB, member, prefix string, urlMap map[string]string) *peer {
	tb.Helper()
	bin, skip := apacheProgram.find()
	if skip != "" {
		return &peer{name: "apache", skip: skip}
	}
	if _, err := os.Stat("/usr/lib/apache2/modules/mod_proxy_html.so"); err != nil {
		return &peer{name: "apache", skip: "mod_proxy_html is missing: install the Debian package apache2 (it ships the module; libxml2 comes with it)"}
	}
	s := newPeerSite(tb, member, prefix)
	s.URLMap = urlMap
	conf := writeTemplate(tb, s.Dir, "httpd.conf", apacheConf, s)
	cmd := exec.Command(bin, "-f", conf, "-DFOREGROUND")
	// Debian's binary reads its run-time paths from the environment its
	// apache2ctl sets; the configuration above names them all instead.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "APACHE_RUN_DIR=" + s.Dir, "APACHE_LOG_DIR=" + s.Dir, "APACHE_LOCK_DIR=" + s.Dir}
	return startPeer(tb, "apache", cmd, s, filepath.Join(s.Dir, "error.log"))
}

// haproxyConf strips Prefix and proxies to the member on connections
// reused across clients (http-reuse always, as the gateway's and nginx's
// pools are), one thread per core, HTTP/2 or HTTP/1.1 toward the client as
// ALPN says. HAProxy rewrites nothing in bodies.
const haproxyConf = `global
    nbthread {{.Workers}}
    pidfile {{.Dir}}/haproxy.pid
    tune.ssl.default-dh-param 2048
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend bench
    bind {{.Listen}} ssl crt {{.PEMFile}} alpn h2,http/1.1 ssl-min-ver TLSv1.2
    default_backend member
backend member
{{- if .Prefix}}
    http-request replace-path ^{{.Prefix}}(/.*) \1
{{- end}}
    http-request set-header Host {{.MemberHost}}
    server member {{.Member}} ssl verify required ca-file {{.CAFile}} verifyhost localhost sni str(localhost) ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2 ciphers AES128-SHA pool-max-conn 64
`

// startHAProxy runs HAProxy in front of member, serving it under prefix.
func startHAProxy(tb testing.TB, member, prefix string) *peer {
	tb.Helper()
	bin, skip := haproxyProgram.find()
	if skip != "" {
		return &peer{name: "haproxy", skip: skip}
	}
	s := newPeerSite(tb, member, prefix)
	conf := writeTemplate(tb, s.Dir, "haproxy.cfg", haproxyConf, s)
	cmd := exec.Command(bin, "-f", conf, "-db")
	return startPeer(tb, "haproxy", cmd, s, "")
}

// writeTemplate writes the peer's configuration file into dir.
func writeTemplate(tb testing.TB, dir, name, text string, data any) string {
	tb.Helper()
	var b strings.Builder
	if err := template.Must(template.New(name).Parse(text)).Execute(&b, data); err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// startPeer starts cmd, stops it (SIGTERM) at the end of the benchmark,
// and waits until the peer answers over HTTPS on s.Listen, polling, or
// fails with its output and log if it exits or takes 30 s.
func startPeer(tb testing.TB, name string, cmd *exec.Cmd, s peerSite, logFile string) *peer {
	tb.Helper()
	out := &testsupport.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	report := func() string {
		log, _ := os.ReadFile(logFile)
		return fmt.Sprintf("output:\n%s\nlog:\n%s", out, log)
	}
	exited := startProcess(tb, name, cmd, report)
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	p := &peer{
		name:   name,
		pid:    cmd.Process.Pid,
		url:    "https://localhost:" + s.Listen[strings.LastIndexByte(s.Listen, ':')+1:],
		client: httpsClient(&tls.Config{RootCAs: roots, ServerName: "localhost"}),
	}
	// Dial 127.0.0.1 for localhost: the peers listen on IPv4 only.
	p.client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Listen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := p.client.Get(p.url + "/")
		if err == nil {
			resp.Body.Close()
			if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
				tb.Fatalf("%s does not speak TLS 1.3 to its client", name)
			}
			return p
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) || opErr.Op != "dial" {
			// Listening but failing: a configuration error.
			tb.Fatalf("%s answers with an error: %v\n%s", name, err, report())
		}
		select {
		case <-exited:
			tb.Fatalf("%s exited: %v\n%s", name, cmd.ProcessState, report())
		case <-ctx.Done():
			tb.Fatalf("%s did not listen on %s within 30s\n%s", name, s.Listen, report())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestPeerProgramMissing(t *testing.T) {
	path, skip := peerProgram{"mesosgate-no-such-peer", "mesosgate-peer-package"}.find()
	if path != "" || !strings.Contains(skip, "install the Debian package mesosgate-peer-package") {
		t.Errorf("find() = %q, %q; want no path and a message naming the package", path, skip)
	}
}
