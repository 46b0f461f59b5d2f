package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// TestZKFailoverBrowsing: the real gateway finds a cluster of three
// masters and three agents through the ZooKeeper group the masters join
// (--master zk://...). While a headless Chromium keeps browsing through it
// (the WebUI's home, every agent, a sandbox, a download, the log viewer, a
// framework's UI), the leader's ZooKeeper session ends three times, as
// when a leading Mesos master loses its session: ZooKeeper elects the
// next, and the gateway follows. The browser's network log must show no
// failed request; the dashboard then shows every master with its id and
// hostname, standbys included.
func TestZKFailoverBrowsing(t *testing.T) {
	browser.Require(t)
	zkURL := zkServer.Server(t).URL(zktest.Path(t))
	c := startCluster(t, sim.Options{Masters: 3, Agents: 3, Name: "zk", LargeFileSize: 64 << 10, ZK: zkURL})
	gw := startGatewayWith(t, c, gatewayOptions{Master: zkURL})
	watch := watchCluster(t, gw)
	watch.waitFor(t, "every master with its id", 30*time.Second, func(r *upstream.Report) bool { return mastersKnown(r, c.Masters()) })

	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{gw.cert}})
	j := &rollingJourney{t: t, b: b, url: gw.url, c: c}
	j.round()

	var seen []time.Duration
	if err := j.during(func(ctx context.Context) error { return zkFailovers(ctx, c, watch, &j.steps, 3, &seen) }); err != nil {
		t.Fatalf("failovers: %v", err)
	}
	j.round()

	if failed := browserFailures(b); len(failed) > 0 {
		t.Errorf("%d failed requests in the browser's network log:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	if direct := c.DirectRequests(); len(direct) > 0 {
		t.Errorf("members saw %d requests straight from the browser, first %+v", len(direct), direct[0])
	}
	if errs := watch.errors(); len(errs) > 0 {
		t.Errorf("/gateway/api/cluster failed %d times, first: %s", len(errs), errs[0])
	}
	b.Navigate(gw.url + "/gateway/")
	var ids []string
	for _, m := range c.Masters() {
		ids = append(ids, `'`+m.ID()+`'`)
	}
	b.WaitFor("the dashboard listing every master's id", `document.querySelectorAll('table.members tr.member').length === 6 && [`+strings.Join(ids, ",")+`].every(id => document.querySelector('table.members').innerText.indexOf(id) >= 0)`, 30*time.Second)
	b.Screenshot("zk-failover-dashboard")
	t.Logf("3 failovers through ZooKeeper seen by the cluster API (polled every 100 ms) after %v; %d journey steps, %d browser requests",
		seen, j.steps.Load(), len(b.Network().Requests()))
}

// mastersKnown reports whether the report lists masters as the leader and
// its standbys, each with its id and hostname.
func mastersKnown(r *upstream.Report, masters []*sim.Master) bool {
	found := 0
	for _, m := range r.Members {
		for _, sm := range masters {
			if m.Address == sm.Addr() && m.ID == sm.ID() && m.Hostname == "localhost" && m.Role != upstream.RoleAgent {
				found++
			}
		}
	}
	return found == len(masters)
}

// zkFailovers ends the leader's ZooKeeper session n times; after each the
// gateway's API must name the next leader, and the browser make two more
// journey steps. seen records how long each took to show.
func zkFailovers(ctx context.Context, c *sim.Cluster, watch *clusterWatch, steps *atomic.Int64, n int, seen *[]time.Duration) error {
	for range n {
		_, took, err := c.FailOver(time.Minute, func(next *sim.Master) bool {
			r := watch.report()
			return ctx.Err() != nil || r != nil && r.Leader == next.Addr()
		})
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		*seen = append(*seen, took.Round(time.Millisecond))
		if err := browsed(ctx, steps, 2); err != nil {
			return err
		}
	}
	return nil
}

// browserFailures lists the failed requests of the browser's network log
// but the favicon, which the log viewer asks for and Mesos lacks too.
func browserFailures(b *browser.Browser) []string {
	var failed []string
	for _, f := range b.Network().Failures() {
		if !strings.Contains(f, "/favicon.ico ") {
			failed = append(failed, f)
		}
	}
	return failed
}

// TestZKRestartUnderGateway stops ZooKeeper under a running gateway: the
// last map keeps serving, readiness stays, and the cluster API and the
// dashboard say why; ZooKeeper back, the news clears, and the watches
// work again: the next failover is followed.
func TestZKRestartUnderGateway(t *testing.T) {
	srv := zktest.Start(t)
	zkURL := srv.URL("/mesos")
	c := startCluster(t, sim.Options{Masters: 2, Agents: 1, ZK: zkURL})
	gw := startGatewayWith(t, c, gatewayOptions{Master: zkURL})
	watch := watchCluster(t, gw)
	leader := c.Masters()[0]
	watch.waitFor(t, "the masters", 30*time.Second, func(r *upstream.Report) bool { return mastersKnown(r, c.Masters()) })

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	watch.waitFor(t, "the outage in the cluster API", 30*time.Second, func(r *upstream.Report) bool {
		return r.ZooKeeper != nil && strings.Contains(r.ZooKeeper.Error, "unreachable")
	})
	if got := stateID(t, gw); got != leader.ID() {
		t.Errorf("the leader's state during the outage came from %q, want %q", got, leader.ID())
	}
	if code, _ := get(t, gw, "/gateway/readyz"); code != http.StatusOK {
		t.Errorf("readyz during the outage: %d", code)
	}
	if _, page := get(t, gw, "/gateway/"); !strings.Contains(page, "ZooKeeper group cannot be read") {
		t.Errorf("the dashboard does not say ZooKeeper cannot be read")
	}
	if browser.Path() != "" { // the page as an operator sees it
		b := browser.New(t, browser.Options{Trust: []*x509.Certificate{gw.cert}})
		b.Navigate(gw.url + "/gateway/")
		b.WaitFor("the dashboard's ZooKeeper alert", `document.body.innerText.indexOf("The masters' ZooKeeper group cannot be read") >= 0`, 30*time.Second)
		b.Screenshot("zk-outage-dashboard")
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	watch.waitFor(t, "the outage over", 30*time.Second, func(r *upstream.Report) bool { return r.ZooKeeper != nil && r.ZooKeeper.Error == "" })
	if err := leader.EndSession(); err != nil {
		t.Fatal(err)
	}
	next := c.Masters()[1]
	watch.waitFor(t, "the failover after the restart", 30*time.Second, func(r *upstream.Report) bool { return r.Leader == next.Addr() })
	testsupport.Eventually(t, "the new leader's state", 0, func() bool { return stateID(t, gw) == next.ID() })
	if errs := watch.errors(); len(errs) > 0 {
		t.Errorf("/gateway/api/cluster failed %d times, first: %s", len(errs), errs[0])
	}
}

// get fetches a path of the gateway.
func get(t testing.TB, gw *gateway, path string) (int, string) {
	t.Helper()
	resp, err := gw.client.Get(gw.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stateID returns the id of the master that answered /master/state
// through the gateway, "" when none did.
func stateID(t testing.TB, gw *gateway) string {
	t.Helper()
	code, body := get(t, gw, "/master/state")
	var st struct {
		ID string `json:"id"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		return ""
	}
	return st.ID
}

// sharedGateways starts n gateways in front of c, each with a data
// directory of its own and the extra arguments, all keeping their
// certificates in one ZooKeeper storage with digest credentials, and
// returns them with the storage's path. Their clients ask for serverName.
func sharedGateways(t *testing.T, c *sim.Cluster, n int, serverName string, listen func(i int) string, args ...string) ([]*gateway, string) {
	t.Helper()
	path := zktest.Path(t)
	storage := "zk://gw:s3cret@" + zkServer.Server(t).Addr() + path
	var gws []*gateway
	for i := range n {
		gws = append(gws, startGatewayWith(t, c, gatewayOptions{OwnCert: true, ServerName: serverName, Listen: listen(i),
			Args: append([]string{"--storage", storage}, args...)}))
	}
	return gws, path
}

// served returns the certificate a gateway presents for name.
func served(t *testing.T, gw *gateway, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	t.Helper()
	host := "127.0.0.1" + strings.TrimPrefix(gw.url, "https://localhost")
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", host, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// TestSharedStorageInternalCA: three gateways without a shared disk keep
// their certificates in ZooKeeper (--storage zk://user:password@...):
// they issue from one internal CA, created once, each certificate once,
// and all serve it; each writes the CA's certificate, never its key, into
// its data directory, and a client trusting one gateway's file accepts
// every gateway. The CA's key in ZooKeeper is readable with the
// storage's credentials only.
func TestSharedStorageInternalCA(t *testing.T) {
	c := startCluster(t, sim.Options{Masters: 1, Agents: 1})
	gws, path := sharedGateways(t, c, 3, "localhost", func(int) string { return "" }, "--cert-source", "internal")
	caFile := func(gw *gateway) string {
		return filepath.Join(gw.home, ".local", "share", "mesosgate", "ca", "mesosgate-ca.pem")
	}
	roots := x509.NewCertPool()
	roots.AddCert(testsupport.ReadCert(t, caFile(gws[0])))
	var serials []string
	for i, gw := range gws {
		if ca := testsupport.ReadCert(t, caFile(gw)); !roots.Equal(poolOf(ca)) {
			t.Errorf("gateway %d wrote another CA: %s", i, ca.Subject)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(caFile(gw)), "mesosgate-ca-key.pem")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("gateway %d has the CA's key in its data directory: %v", i, err)
		}
		leaf, err := served(t, gw, "localhost", roots)
		if err != nil {
			t.Fatalf("gateway %d's certificate against gateway 0's CA file: %v", i, err)
		}
		serials = append(serials, leaf.SerialNumber.String())
	}
	if serials[1] != serials[0] || serials[2] != serials[0] {
		t.Errorf("the gateways serve different certificates for localhost (serials %q): each should be issued once", serials)
	}
	srv := zkServer.Server(t)
	conn := srv.Client(t, "")
	key := path + "/keys/mesosgate/ca/mesosgate-ca-key.pem"
	if data, _, err := conn.Get(key); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("the CA's key read without credentials: %v (%d bytes)", err, len(data))
	}
	if data, _, err := srv.Client(t, "gw:s3cret").Get(key); err != nil || !strings.Contains(string(data), "PRIVATE KEY") {
		t.Errorf("the CA's key with the storage's credentials: %v", err)
	}
}

func poolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}

// TestSharedStorageACME: three gateways sharing a ZooKeeper storage
// obtain one certificate from an ACME CA (Pebble, validating the
// TLS-ALPN-01 challenge on the first gateway's port through a test DNS
// server) and all serve it: only one issues.
func TestSharedStorageACME(t *testing.T) {
	const domain = "gateway.example.test"
	addrs := []string{testsupport.FreeAddr(t), testsupport.FreeAddr(t), testsupport.FreeAddr(t)}
	_, port, _ := net.SplitHostPort(addrs[0])
	var tlsPort int
	fmt.Sscan(port, &tlsPort)
	p := testsupport.StartPebble(t, testsupport.PebbleOptions{Validate: true, DNSServer: testsupport.FakeDNS(t, domain), TLSPort: tlsPort})
	c := startCluster(t, sim.Options{Masters: 1, Agents: 1})
	start := time.Now()
	gws, _ := sharedGateways(t, c, 3, domain, func(i int) string { return addrs[i] },
		"--cert-source", "acme", "--acme-domain", domain, "--acme-ca", p.Directory, "--acme-ca-root", p.HTTPSRoot)
	var leaves []*x509.Certificate
	for i, gw := range gws {
		var leaf *x509.Certificate
		testsupport.Eventually(t, fmt.Sprintf("gateway %d serving Pebble's certificate", i), 60*time.Second, func() bool {
			var err error
			leaf, err = served(t, gw, domain, p.IssuingRoots)
			return err == nil
		})
		leaves = append(leaves, leaf)
	}
	t.Logf("one ACME certificate for three gateways sharing ZooKeeper storage, from the first start to the third serving it: %v", time.Since(start).Round(time.Millisecond))
	for i, l := range leaves {
		if !l.Equal(leaves[0]) {
			t.Errorf("gateway %d serves serial %s, gateway 0 %s", i, l.SerialNumber, leaves[0].SerialNumber)
		}
	}
	if n := p.Issued(); n != 1 {
		t.Errorf("Pebble issued %d certificates for three gateways, want 1", n)
	}
}

// TestSharedStorageSessions: gateways sharing a storage and given no
// --session-key-file seal sign-in sessions with one key, made once by the
// first in the storage (readable with the storage's credentials only): a
// browser signed in at one gateway is signed in at the other. A gateway
// keeping its storage elsewhere has a key of its own and takes the same
// cookie for no session at all.
func TestSharedStorageSessions(t *testing.T) {
	p := startIDP(t)
	p.QueueUser(viewerUser())
	c := startCluster(t, sim.Options{Masters: 1, Agents: 1})
	secret := filepath.Join(t.TempDir(), "client-secret")
	writeFile(t, secret, p.ClientSecret+"\n")
	addrs := []string{testsupport.FreeAddr(t), testsupport.FreeAddr(t)}
	_, port, _ := net.SplitHostPort(addrs[0])
	oidc := []string{
		"--cert-source", "internal",
		"--oidc-issuer", p.Issuer(), "--oidc-client-id", p.ClientID, "--oidc-client-secret-file", secret,
		// The browser signs in at the first gateway only.
		"--oidc-redirect-url", "https://localhost:" + port + "/gateway/callback",
		"--oidc-scopes", "openid,email,profile,groups",
		"--viewers", "group:engineering",
	}
	gws, path := sharedGateways(t, c, 2, "localhost", func(i int) string { return addrs[i] }, oidc...)
	other := startGatewayWith(t, c, gatewayOptions{OwnCert: true, ServerName: "localhost",
		Args: append([]string{"--storage", "zk://gw:s3cret@" + zkServer.Server(t).Addr() + zktest.Path(t)}, oidc...)})

	bc := newBrowserClient(t, gws[0])
	callback, _ := bc.startSignIn(t, gws[0])
	if status, body := bc.get(t, callback); status != 200 || !strings.Contains(body, `"leader_info"`) {
		t.Fatalf("signing in at the first gateway: %d %.300s", status, body)
	}
	read := func(gw *gateway) (int, string) {
		resp, err := bc.Get(gw.url + "/master/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i, gw := range gws {
		if status, body := read(gw); status != 200 || !strings.Contains(body, `"leader_info"`) {
			t.Errorf("gateway %d with the session of gateway 0: %d %.300s", i, status, body)
		}
	}
	if status, body := read(other); status != http.StatusUnauthorized {
		t.Errorf("a gateway with a storage of its own took the session: %d %.300s", status, body)
	}
	srv := zkServer.Server(t)
	key := path + "/keys/mesosgate/session.key"
	if data, _, err := srv.Client(t, "").Get(key); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("the session key read without credentials: %v (%d bytes)", err, len(data))
	}
	if data, _, err := srv.Client(t, "gw:s3cret").Get(key); err != nil || len(data) != 32 {
		t.Errorf("the session key with the storage's credentials: %v, %d bytes", err, len(data))
	}
}
