package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// testPKI is shared by every simulated cluster of the package (RSA keys
// are slow to make, the more so under the race detector), and frontCert is
// the gateway's certificate in tests, from the same CA: it serves the
// front and is the client certificate ssl-clientcert members demand.
var (
	testPKI             *sim.PKI
	frontCert, frontKey string
	frontLeaf           *tlsx.Leaf
	testRoots           *x509.CertPool
	testDir             string
)

func TestMain(m *testing.M) { testsupport.Main(m, setup) }

// setup makes the package's shared certificates.
func setup() (func(), error) {
	var err error
	if testDir, err = os.MkdirTemp("", "server-test-"); err != nil {
		return nil, err
	}
	teardown := func() { os.RemoveAll(testDir) }
	if testPKI, err = sim.NewPKI(filepath.Join(testDir, "pki")); err != nil {
		return teardown, err
	}
	frontLeaf, err = testPKI.CA.Issue(tlsx.LeafRequest{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		return teardown, err
	}
	frontCert, frontKey = filepath.Join(testDir, "front.pem"), filepath.Join(testDir, "front-key.pem")
	if err := frontLeaf.WriteFiles(frontCert, frontKey); err != nil {
		return teardown, err
	}
	testRoots = x509.NewCertPool()
	testRoots.AddCert(testPKI.CA.Cert)
	return teardown, nil
}

// tester is a simulated cluster with the gateway in front of it, served
// over HTTPS on loopback by the real listener (Listen, Serve), and a
// client that trusts the gateway's certificate.
type tester struct {
	t       testing.TB
	sim     *sim.Cluster
	cluster *upstream.Cluster
	gw      *Gateway
	url     string // https://127.0.0.1:port
	addr    string // 127.0.0.1:port
	client  *http.Client
	logs    *testsupport.Buffer
	tls     *tlsx.Context
	metrics *Metrics // with testerOptions.metrics
	// stop shuts the gateway down (as SIGTERM does) and waits for Serve
	// to return; the test's cleanup calls it too.
	stop func()
}

// testerOptions tune a tester.
type testerOptions struct {
	sim      sim.Options
	settings func(*tlsx.Settings)
	gateway  func(*Options)
	serve    ServeOptions
	// credentials are the gateway's own for discovery.
	credentials *upstream.Credentials
	// upstream changes the cluster's configuration.
	upstream func(*upstream.Config)
	// metrics gives the gateway its metrics (NewMetrics, as Run does).
	metrics bool
	// jsonLog logs in JSON (--log-format json) instead of text.
	jsonLog bool
}

// newTester starts a cluster and the gateway; both stop when the test ends.
func newTester(t testing.TB, o testerOptions) *tester {
	t.Helper()
	if o.sim.PKI == nil {
		o.sim.PKI = testPKI
	}
	c, err := sim.Start(o.sim)
	if err != nil {
		t.Fatalf("start the simulated cluster: %v", err)
	}
	t.Cleanup(func() { c.Close() })

	ts := &tester{t: t, sim: c, logs: &testsupport.Buffer{}}
	log := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.jsonLog {
		log = slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	settings := tlsx.Settings{Enabled: tlsx.On, EnableTLSv13: tlsx.On, CertFile: frontCert, KeyFile: frontKey}
	if o.settings != nil {
		o.settings(&settings)
	}
	tc, err := tlsx.NewContext(settings, tlsx.Options{Logger: log, ReloadInterval: -1})
	if err != nil {
		t.Fatalf("tls context: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	ts.tls = tc
	var ms []upstream.Master
	for _, m := range c.Masters() {
		ms = append(ms, upstream.Master{Address: m.Addr()})
	}
	ucfg := upstream.Config{Masters: ms, TLS: tc, Logger: log, Refresh: time.Second, ProbeTimeout: 2 * time.Second, Credentials: o.credentials}
	if o.upstream != nil {
		o.upstream(&ucfg)
	}
	ts.cluster, err = upstream.New(ucfg)
	if err != nil {
		t.Fatalf("upstream: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ts.cluster.Run(ctx) }()

	ln, hsts, err := Listen("127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Cluster: ts.cluster, Logger: log, HSTS: hsts}
	if o.metrics {
		ts.metrics, err = NewMetrics(MetricsOptions{Cluster: ts.cluster, FrontCertificates: tc.FrontCertificates, Version: "test", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		opts.Metrics = ts.metrics
	}
	if o.gateway != nil {
		o.gateway(&opts)
	}
	if ts.gw, err = New(opts); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		if err := ts.gw.Serve(ctx, ln, o.serve); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var once sync.Once
	ts.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(func() {
		ts.stop()
		ts.cluster.Close()
		if t.Failed() {
			t.Logf("gateway log:\n%s", ts.logs)
		}
	})
	ts.addr = ln.Addr().String()
	ts.url = "https://" + ts.addr
	if !settings.Enabled.Or(false) {
		ts.url = "http://" + ts.addr
	}
	ts.client = ts.newClient(false)
	if err := ts.cluster.Wait(context.Background()); err != nil {
		t.Fatalf("first discovery: %v", err)
	}
	ts.waitProbed()
	return ts
}

// waitProbed waits until every member of the cluster map has been probed,
// so pages carry the same link table from the first request on.
func (ts *tester) waitProbed() {
	ts.t.Helper()
	testsupport.Eventually(ts.t, "every member probed", 30*time.Second, func() bool {
		s := ts.cluster.Snapshot()
		for _, m := range s.Members() {
			if m.Probe == nil {
				return false
			}
		}
		return s.Leader != nil || len(ts.sim.Masters()) == 0 || ts.sim.Leader() == nil
	})
}

// newClient returns a client trusting the test CA, speaking HTTP/2 when h2
// (ALPN) and HTTP/1.1 otherwise. It follows no redirects.
func (ts *tester) newClient(h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: testRoots, ServerName: "localhost"},
		ForceAttemptHTTP2:   h2,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	ts.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get sends a GET with the given headers (name, value pairs) and returns the
// response with its body read.
func (ts *tester) get(path string, headers ...string) (*http.Response, string) {
	ts.t.Helper()
	return ts.do(ts.client, http.MethodGet, path, headers...)
}

func (ts *tester) do(c *http.Client, method, path string, headers ...string) (*http.Response, string) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, string(b)
}

// raw sends bytes on a new TLS connection to the gateway and returns what
// comes back until the gateway closes the connection (failing the test
// when it keeps it open for two seconds).
func (ts *tester) raw(request string) string {
	ts.t.Helper()
	conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: testRoots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		ts.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		ts.t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := conn.Read(buf)
		out.Write(buf[:n])
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			ts.t.Errorf("the gateway kept the connection open after answering:\n%.300s", out.String())
			return out.String()
		}
		if err != nil {
			return out.String()
		}
	}
}
