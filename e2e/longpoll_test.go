package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// This file is what the gateway does with responses that take minutes:
// long polls live as long as client and app keep them, over HTTP/1.1 and
// HTTP/2, and a client that takes nothing is cut and logged with why.
// The tests run in parallel with the package's other slow tests (the
// browser journeys through real framework UIs), so the package's wall
// time grows by the longest of them, about five minutes.

// longPolls are the waits the long-poll test asks for (issue 16: two and
// five minutes).
var longPolls = []time.Duration{2 * time.Minute, 5 * time.Minute}

// TestLongPolls sends long polls of two and five minutes to a framework
// UI through the real gateway, over HTTP/1.1 and HTTP/2, holding the
// header until the answer (a blocking query) and sending it first (as
// Syncthing's rest/events does). Each must complete with the app's
// answer, after its whole wait; the durations are logged. Beside them, an
// HTTP/2 client that stops reading a download is cut after the stall
// timeout, and the gateway's log names the cut, its reason and the
// request id. Everything runs at once (goroutines, not parallel
// subtests, which -parallel would queue), and each case is then checked
// in its own subtest.
func TestLongPolls(t *testing.T) {
	t.Parallel()
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain}, LargeFileSize: 64 << 20,
		Frameworks: []sim.FrameworkSpec{{Name: "poller"}}})
	g := startGateway(t, c)
	type poll struct {
		after  time.Duration
		h2     bool
		header string
		got    pollResult
	}
	var polls []*poll
	for _, after := range longPolls {
		for _, h2 := range []bool{false, true} {
			for _, header := range []string{"last", "first"} {
				polls = append(polls, &poll{after: after, h2: h2, header: header})
			}
		}
	}
	var wg sync.WaitGroup
	for _, p := range polls {
		wg.Go(func() { p.got = longPoll(g, p.h2, p.after, p.header) })
	}
	var stall string
	wg.Go(func() { stall = stallCut(g, c.Agents()[0]) })
	wg.Wait()

	for _, p := range polls {
		t.Run(fmt.Sprintf("%s/%s/header-%s", p.after, protoName(p.h2), p.header), func(t *testing.T) {
			r := p.got
			if r.err != nil {
				t.Fatal(r.err)
			}
			t.Logf("%s: header after %s, answer after %s: %d %s", r.proto, r.header.Round(time.Millisecond), r.total.Round(time.Millisecond), r.status, r.body)
			if want := fmt.Sprintf(`{"waited":%q}`, p.after.String()); r.status != 200 || r.body != want {
				t.Errorf("got %d %q, want 200 %s", r.status, r.body, want)
			}
			if r.total < p.after {
				t.Errorf("answered after %s, before the app's %s", r.total, p.after)
			}
			if p.h2 != (r.proto == "HTTP/2.0") {
				t.Errorf("spoke %s", r.proto)
			}
		})
	}
	t.Run("stalled client cut and logged", func(t *testing.T) {
		if stall == "" {
			t.Fatal("no access line for the stalled download in the gateway's log")
		}
		for _, want := range []string{"level=WARN", "status=-1", "proto=HTTP/2.0", "cut=stall", `err="the client took nothing for 1m0s (stall timeout)`} {
			if !strings.Contains(stall, want) {
				t.Errorf("the cut's log line does not say %s:\n%s", want, stall)
			}
		}
	})
}

// pollResult is what a long poll got: the protocol, when the header and
// the whole answer came, the status and the body.
type pollResult struct {
	proto         string
	header, total time.Duration
	status        int
	body          string
	err           error
}

// longPoll asks the framework UI "poller" to answer after the wait, with
// its header sent first or last.
func longPoll(g *gateway, h2 bool, after time.Duration, header string) pollResult {
	ctx, cancel := context.WithTimeout(context.Background(), after+2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", g.url+"/service/poller/poll?after="+after.String()+"&header="+header, nil)
	if err != nil {
		return pollResult{err: err}
	}
	start := time.Now()
	resp, err := frontClient(h2).Do(req)
	if err != nil {
		return pollResult{err: fmt.Errorf("no answer after %s: %w", time.Since(start).Round(time.Millisecond), err)}
	}
	defer resp.Body.Close()
	r := pollResult{proto: resp.Proto, header: time.Since(start), status: resp.StatusCode}
	body, err := io.ReadAll(resp.Body)
	r.total, r.body = time.Since(start), strings.TrimSpace(string(body))
	if err != nil {
		r.err = fmt.Errorf("the body broke after %s: %w", r.total.Round(time.Millisecond), err)
	}
	return r
}

// stallCut downloads a large file from agent over HTTP/2 and reads
// nothing: once the stream's window is full the gateway's write waits,
// and at the stall timeout (a minute) it gives up. It returns the access
// line of the download once the gateway wrote it ("" after three
// minutes without).
func stallCut(g *gateway, agent *sim.Agent) string {
	sb, err := agent.Sandboxes()
	if err != nil {
		return ""
	}
	resp, err := frontClient(true).Get(g.url + "/agent/" + agent.ID() + "/files/download?path=" + url.QueryEscape(sb[0].Directory+"/"+sim.LargeFile))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for end := time.Now().Add(3 * time.Minute); time.Now().Before(end); <-tick.C {
		for l := range strings.Lines(g.stderr.String()) {
			if strings.Contains(l, "request_id="+id+" ") && strings.Contains(l, " msg=request ") {
				return l
			}
		}
	}
	return ""
}

// frontClient is a client of the gateway's front that trusts the test
// CA: HTTP/2 by ALPN when h2, HTTP/1.1 only otherwise. It has no timeout
// of its own (requests carry their deadline) and follows no redirects.
func frontClient(h2 bool) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if !h2 {
		return httpsClient(cfg)
	}
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func protoName(h2 bool) string {
	if h2 {
		return "h2"
	}
	return "http1"
}
