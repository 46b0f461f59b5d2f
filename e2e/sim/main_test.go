package sim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// testPKI is shared by the package's clusters: RSA keys are slow to make,
// the more so under the race detector.
var testPKI *PKI

// zkServer is the package's one ZooKeeper server, started by the first
// test that needs it; each test uses a path of its own (zktest.Path).
var zkServer zktest.Shared

func TestMain(m *testing.M) {
	testsupport.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "sim-test-pki-")
		if err != nil {
			return nil, err
		}
		testPKI, err = NewPKI(dir)
		return func() {
			os.RemoveAll(dir)
			if err := zkServer.Close(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}, err
	})
}

// start starts a cluster with the shared PKI, closed when the test ends.
func start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.PKI == nil {
		opts.PKI = testPKI
	}
	c, err := Start(opts)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	return c
}

// client is an HTTP client that trusts the cluster's CA, presents no
// client certificate, never follows redirects and never reuses
// connections (each request sees the member's current mode).
func client(t testing.TB) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(testPKI.CA.Cert)
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA}},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get fetches url with the test client and fails the test on a transport
// error.
func get(t testing.TB, url string) response {
	t.Helper()
	resp, err := client(t).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// getJSON fetches url, expects 200 and decodes the body into v.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	r := get(t, url)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q", url, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: decode %q: %v", url, truncate(r.body), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// curl runs curl with args and returns its output; it fails the test when
// curl fails.
func curl(t testing.TB, args ...string) string {
	t.Helper()
	bin := testsupport.Command(t, "curl", "curl")
	out, err := exec.Command(bin, append([]string{"--silent", "--show-error", "--max-time", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
