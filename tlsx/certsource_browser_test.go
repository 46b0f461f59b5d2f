package tlsx

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/chromedp/chromedp"
	"github.com/mesosgate/mesosgate/e2e/browser"
)

// TestInternalCAInChromium follows the README's instructions for Chromium
// on Linux: the internal CA imported with certutil into the NSS database
// of the user's home. Chromium then loads the front by name and by IP
// address with no flag about certificates; without the import it refuses
// the same page.
func TestInternalCAInChromium(t *testing.T) {
	browser.Require(t)
	certutil := testsupport.Command(t, "certutil", "certutil")
	src, _ := newInternal(t, InternalOptions{Names: []string{"localhost"}, IPs: []netip.Addr{loopback}})
	c := mustContext(t, Settings{Enabled: On, EnableTLSv13: On}, Options{Certificates: src})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><title>served by the front</title><p>"+r.Proto)
	})}
	go srv.Serve(c.NewListener(inner, c.ServerConfig("h2", "http/1.1")))
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(inner.Addr().String())

	// The same home without, then with, the CA: Chromium reads
	// $HOME/.pki/nssdb when it starts.
	home := t.TempDir()
	t.Setenv("HOME", home)
	nssdb := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	mustRun(t, certutil, "-N", "-d", nssdb, "--empty-password")

	t.Run("not trusted: refused", func(t *testing.T) {
		b := browser.New(t, browser.Options{})
		ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.Navigate("https://localhost:"+port+"/"))
		if err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
			t.Fatalf("navigation without the CA: %v; want ERR_CERT_AUTHORITY_INVALID", err)
		}
	})
	mustRun(t, certutil, "-A", "-d", nssdb, "-t", "C,,", "-n", "mesosgate CA", "-i", src.CAFile())
	for _, url := range []string{"https://localhost:" + port + "/", "https://127.0.0.1:" + port + "/"} {
		t.Run("trusted: "+url, func(t *testing.T) {
			b := browser.New(t, browser.Options{})
			b.Navigate(url)
			if title := browser.Eval[string](b, "document.title"); title != "served by the front" {
				t.Errorf("title %q", title)
			}
			if proto := browser.Eval[string](b, "document.body.textContent"); proto != "HTTP/2.0" {
				t.Errorf("served over %q, want HTTP/2.0", proto)
			}
		})
	}
}
