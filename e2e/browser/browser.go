// Package browser drives headless Chromium for mesosgate's tests.
//
// Every browser-visible promise of mesosgate is checked in a real Chromium
// through this package: it starts the browser with the flags this
// environment needs, records every network request of every tab (popups
// included) so a test can assert that nothing reached a member directly, and
// saves screenshots for a person to look at. It also logs what pages report
// as errors (uncaught exceptions, console.error), which a test can assert
// empty.
//
// When Chromium is missing a test is skipped with a message, except under
// CI=true where a missing browser fails the test: CI must never pass by not
// looking.
package browser

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// Options configure a Browser. The zero value works for plain-HTTP pages.
type Options struct {
	// Trust lists the certificates whose public keys Chromium accepts
	// without a chain it knows (--ignore-certificate-errors-spki-list). A
	// TLS page with any other certificate fails to load, as it would for a
	// user. Nil trusts nothing beyond the system.
	Trust []*x509.Certificate
	// Authorities are CA certificate files (PEM) Chromium trusts as a
	// user who imported them would: certutil writes them into the NSS
	// database of a home directory of this browser's own, so every name
	// they sign loads (framework UIs' hosts certified on demand
	// included). Needs certutil (Debian's libnss3-tools).
	Authorities []string
	// Width and Height size the window; zero means 1280x900.
	Width, Height int
	// Flags are extra Chromium switches, name to value (true for a switch
	// without a value).
	Flags map[string]any
}

// Browser is one headless Chromium process with one initial tab. It is
// closed by the test's cleanup.
type Browser struct {
	t       testing.TB
	ctx     context.Context // the first tab
	network *Network
	console *Console
}

// Path returns the Chromium executable, or "" when none is installed.
func Path() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require skips the test when Chromium is missing, or fails it when the
// environment says CI=true. It returns the executable's path.
func Require(t testing.TB) string {
	t.Helper()
	p := Path()
	if p != "" {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed and CI=true: browser tests must run in CI (make test installs the Debian package chromium)")
	}
	t.Skip("chromium is not installed: skipping browser test (run make test, or apt-get install chromium)")
	return ""
}

// New starts Chromium for the test, or skips the test when Chromium is
// missing (see Require). The browser stops when the test ends.
func New(t testing.TB, o Options) *Browser {
	t.Helper()
	exe := Require(t)
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	flags := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	}
	if len(o.Trust) > 0 {
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", SPKIList(o.Trust)))
	}
	if len(o.Authorities) > 0 {
		flags = append(flags, chromedp.Env("HOME="+trustingHome(t, o.Authorities)))
	}
	for name, value := range o.Flags {
		flags = append(flags, chromedp.Flag(name, value))
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx, network: &Network{}, console: &Console{}}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, b.record()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// trustingHome returns a new home directory whose NSS database, which
// Chromium on Linux reads at $HOME/.pki/nssdb, trusts the CA files.
func trustingHome(t testing.TB, caFiles []string) string {
	t.Helper()
	certutil := testsupport.Command(t, "certutil", "libnss3-tools")
	home := t.TempDir()
	dir := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		if out, err := exec.Command(certutil, append([]string{"-d", "sql:" + dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("-N", "--empty-password")
	for i, f := range caFiles {
		run("-A", "-t", "C,,", "-n", fmt.Sprintf("test CA %d", i+1), "-i", f)
	}
	return home
}

// SPKIList returns the value of Chromium's --ignore-certificate-errors-spki-list
// for the certificates: base64 SHA-256 hashes of their public keys, by commas.
func SPKIList(certs []*x509.Certificate) string {
	hashes := make([]string, len(certs))
	for i, c := range certs {
		sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
		hashes[i] = base64.StdEncoding.EncodeToString(sum[:])
	}
	return strings.Join(hashes, ",")
}

// Context returns the first tab's chromedp context, for actions this
// package does not wrap. Derive timeouts from it; never cancel it.
func (b *Browser) Context() context.Context { return b.ctx }

// Network returns the log of every request of every tab and popup.
func (b *Browser) Network() *Network { return b.network }

// Console returns the log of the errors of every tab and popup.
func (b *Browser) Console() *Console { return b.console }

// Record adds the tab of ctx, one the test found itself (a tab opened
// without an opener), to the network and console logs.
func (b *Browser) Record(ctx context.Context) error {
	return chromedp.Do(ctx, b.record())
}

// record logs the requests and errors of the tab it runs in.
func (b *Browser) record() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if err := chromedp.Listen(ctx, b.console.handle); err != nil {
			return err
		}
		_, err := b.network.record(ctx)(ctx, t)
		return err
	})
}

// Run runs actions in the first tab with a deadline, failing the test with
// what was being done when one fails.
func (b *Browser) Run(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the first tab and returns its
// value decoded into T, failing the test on error.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript predicate in the first tab until it is truthy,
// failing the test with the description, the page's URL and its visible
// text when the deadline passes first.
func (b *Browser) WaitFor(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	if err := WaitIn(b.ctx, predicate, timeout); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v\n%s", what, predicate, err, Describe(b.ctx))
	}
}

// WaitAcross is WaitFor while the tab navigates: a poll whose page went
// away (a click that loads another page, a redirect) is tried again on
// the next page until timeout. It fails the test with the page and the
// network log.
func (b *Browser) WaitAcross(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := WaitIn(b.ctx, predicate, time.Until(deadline))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			var log []string
			for _, r := range b.Network().Requests() {
				log = append(log, fmt.Sprintf("%s %s [%s] %d %s", r.Method, r.URL, r.Type, r.Status, r.Failed))
			}
			b.t.Fatalf("waiting for %s (%s): %v\n%s\nrequests:\n%s", what, predicate, err, Describe(b.ctx), strings.Join(log, "\n"))
		}
	}
}

// WaitIn polls predicate in the tab of ctx until it is truthy or timeout
// passes.
func WaitIn(ctx context.Context, predicate string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return err
}

// Describe returns the URL and the start of the visible text of the tab
// of ctx, for failure messages.
func Describe(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(text) > 2000 {
		text = text[:2000] + "..."
	}
	return fmt.Sprintf("page %s shows:\n%s", loc, text)
}

// Navigate loads url in the first tab and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Run("navigate to "+url, 60*time.Second, chromedp.Navigate(url))
}

// Screenshot saves a full-page PNG of the first tab under the directory
// named by MESOSGATE_SCREENSHOTS (default: the test's temporary directory)
// and returns its path, for a person to look at.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	return Screenshot(b.t, b.ctx, name)
}

// Screenshot saves a full-page PNG of the tab of ctx; see Browser.Screenshot.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("MESOSGATE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// Popup waits for a window opened by the first tab (window.open, a target
// link) and returns a context for it whose requests are recorded in the
// same network log. Call it before the action that opens the window, and
// receive from the returned function after.
//
// chromedp reads the popup's document on the caller's goroutine while its
// own applies DOM events to the same frame without the frame's lock
// (Target.domEvent), a data race in chromedp that -race reports now and
// then when the popup's page changes meanwhile; attaching earlier, while
// the popup still loads, makes it more likely, not less.
func (b *Browser) Popup() func() context.Context {
	ch := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.Type == "page" })
	return func() context.Context {
		b.t.Helper()
		select {
		case id, ok := <-ch:
			if !ok {
				b.t.Fatal("no popup: the tab is gone")
			}
			ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
			b.t.Cleanup(cancel)
			if err := chromedp.Do(ctx, b.record()); err != nil {
				b.t.Fatalf("attach to popup: %v", err)
			}
			return ctx
		case <-time.After(30 * time.Second):
			b.t.Fatal("no popup opened within 30s")
		}
		return nil
	}
}

// Request is one network request as Chromium saw it.
type Request struct {
	URL    string
	Method string
	Type   string // Document, Script, XHR, Fetch, EventSource, WebSocket, ...
	Status int    // 0 until a response arrived, or when none did
	// Protocol is what the response came over, as Chromium names it
	// ("h2", "http/1.1"); "" until a response arrived.
	Protocol string
	// Finished says the whole response arrived (a long poll's status
	// comes first when its header does, its end minutes later).
	Finished bool
	// Failed holds Chromium's error text ("net::ERR_CONNECTION_REFUSED",
	// a blocked mixed-content load, ...) when the request failed.
	Failed string
}

// Network is the log of requests of every tab the Browser recorded.
type Network struct {
	mu    sync.Mutex
	order []network.RequestID
	reqs  map[network.RequestID]*Request
}

// record enables the network domain in the tab of ctx and logs its events.
func (n *Network) record(ctx context.Context) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if err := chromedp.Listen(ctx, n.handle); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	})
}

func (n *Network) handle(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.reqs == nil {
		n.reqs = map[network.RequestID]*Request{}
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		// A redirect reuses the request id: keep the hop that redirected
		// as its own entry so both URLs stay in the log.
		if prev, ok := n.reqs[ev.RequestID]; ok && ev.RedirectResponse != nil {
			prev.Status = int(ev.RedirectResponse.Status)
			id := ev.RequestID + network.RequestID(fmt.Sprintf("#%d", len(n.order)))
			n.reqs[id] = prev
			n.order = append(n.order, id)
		} else if !ok {
			n.order = append(n.order, ev.RequestID)
		}
		n.reqs[ev.RequestID] = &Request{URL: ev.Request.URL, Method: ev.Request.Method, Type: string(ev.Type)}
	case *network.EventResponseReceived:
		if r, ok := n.reqs[ev.RequestID]; ok && ev.Response != nil {
			r.Status = int(ev.Response.Status)
			r.Protocol = ev.Response.Protocol
		}
	case *network.EventLoadingFinished:
		if r, ok := n.reqs[ev.RequestID]; ok {
			r.Finished = true
		}
	case *network.EventLoadingFailed:
		if r, ok := n.reqs[ev.RequestID]; ok {
			r.Failed = ev.ErrorText
			if ev.BlockedReason != "" {
				r.Failed += " (blocked: " + string(ev.BlockedReason) + ")"
			}
		}
	case *network.EventWebSocketCreated:
		if _, ok := n.reqs[ev.RequestID]; !ok {
			n.order = append(n.order, ev.RequestID)
			n.reqs[ev.RequestID] = &Request{URL: ev.URL, Method: "GET", Type: "WebSocket"}
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		if r, ok := n.reqs[ev.RequestID]; ok && ev.Response != nil {
			r.Status = int(ev.Response.Status)
		}
	}
}

// Requests returns a copy of the log in the order requests were made.
func (n *Network) Requests() []Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Request, 0, len(n.order))
	for _, id := range n.order {
		out = append(out, *n.reqs[id])
	}
	return out
}

// Reset empties the log.
func (n *Network) Reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.order, n.reqs = nil, nil
}

// Failures returns the requests that failed or got a 4xx/5xx status, each
// as one line, so a test can fail with exactly what went wrong. Requests
// the page aborted itself (navigating away, closing an event stream) are
// not failures.
func (n *Network) Failures() []string {
	var out []string
	for _, r := range n.Requests() {
		switch {
		case r.Failed != "" && r.Failed != "net::ERR_ABORTED":
			out = append(out, fmt.Sprintf("%s %s [%s]: %s", r.Method, r.URL, r.Type, r.Failed))
		case r.Status >= 400:
			out = append(out, fmt.Sprintf("%s %s [%s]: status %d", r.Method, r.URL, r.Type, r.Status))
		}
	}
	return out
}

// To returns the requests whose URL's host:port is one of hostports (for
// "the browser never talked to a member directly").
func (n *Network) To(hostports ...string) []Request {
	var out []Request
	for _, r := range n.Requests() {
		for _, hp := range hostports {
			if hostOf(r.URL) == hp {
				out = append(out, r)
			}
		}
	}
	return out
}

// Console is the log of what the pages of every tab reported as errors:
// uncaught exceptions and console.error calls (AngularJS reports the
// exceptions it catches that way).
type Console struct {
	mu     sync.Mutex
	errors []string
}

func (c *Console) handle(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		line = d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			line += " " + firstLine(d.Exception.Description)
		}
		line += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				parts = append(parts, firstLine(a.Description))
			case len(a.Value) > 0:
				var str string
				if json.Unmarshal(a.Value, &str) == nil {
					parts = append(parts, str)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
		}
		line = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, line)
}

// Errors returns the errors logged so far, one line each.
func (c *Console) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// Reset empties the log.
func (c *Console) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// hostOf returns the host:port of an absolute URL, or "".
func hostOf(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	rest := u[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
