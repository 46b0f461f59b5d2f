package browser

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestNetworkLogAndTrust checks the two things every browser test leans on:
// the network log sees requests made by scripts (not only navigations), and
// --ignore-certificate-errors-spki-list trusts exactly the listed
// certificate, so a page fetching from a server with another certificate
// fails as it would for a user.
func TestNetworkLogAndTrust(t *testing.T) {
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, "from other")
	}))
	defer other.Close()
	// Two TLS test servers share httptest's certificate; give the page's
	// server a different one so trusting it does not trust the other.
	page := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/data":
			fmt.Fprint(w, "same origin")
		default:
			fmt.Fprintf(w, `<!doctype html><title>t</title><p id=out>loading</p><script>
fetch("/data").then(r => r.text()).then(t => {
  document.getElementById("out").textContent = t;
  return fetch(%q).then(() => { document.title = "other ok" }, () => { document.title = "other failed" });
});
</script>`, other.URL+"/x")
		}
	}))
	cert := newCert(t)
	page.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	page.StartTLS()
	defer page.Close()

	b := New(t, Options{Trust: []*x509.Certificate{cert.Leaf}})
	b.Navigate(page.URL)
	b.WaitFor("same-origin fetch", `document.getElementById("out").textContent === "same origin"`, 20*time.Second)
	b.WaitFor("cross-origin fetch to settle", `document.title !== "t"`, 20*time.Second)
	if got := Eval[string](b, "document.title"); got != "other failed" {
		t.Errorf("fetch to a server with an untrusted certificate: title %q, want %q", got, "other failed")
	}
	var sawData, sawOther bool
	for _, r := range b.Network().Requests() {
		sawData = sawData || strings.HasSuffix(r.URL, "/data") && r.Status == 200
		sawOther = sawOther || strings.HasPrefix(r.URL, other.URL) && r.Failed != ""
	}
	if !sawData || !sawOther {
		t.Errorf("network log misses requests: data=%v other-failed=%v\n%+v", sawData, sawOther, b.Network().Requests())
	}
	if got := b.Network().To(strings.TrimPrefix(other.URL, "https://")); len(got) != 1 {
		t.Errorf("To(other) = %+v, want one request", got)
	}
	if len(b.Network().Failures()) == 0 {
		t.Error("Failures() is empty although the request to the untrusted server failed")
	}
}

// newCert returns a self-signed certificate for 127.0.0.1, distinct from
// httptest's built-in one.
func newCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestConsoleErrors checks that a page's uncaught exception and its
// console.error calls are logged, and nothing else it writes.
func TestConsoleErrors(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!DOCTYPE html><title>errors</title><script>
			console.log('not an error');
			console.error('route', {path: '/x'});
			setTimeout(function () { null.originalPath; }, 0);
		</script>`)
	}))
	defer page.Close()
	b := New(t, Options{})
	b.Navigate(page.URL)
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Console().Errors()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := b.Console().Errors()
	if len(got) != 2 || !strings.HasPrefix(got[0], "console.error: route Object") ||
		!strings.Contains(got[1], "TypeError: Cannot read properties of null (reading 'originalPath')") {
		t.Errorf("errors %q", got)
	}
	b.Console().Reset()
	if got := b.Console().Errors(); len(got) != 0 {
		t.Errorf("after Reset: %q", got)
	}
}
