package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// proxyTo serves a ReverseProxy to a route, as the gateway's server does:
// each request is resolved, rewritten for its destination and sent by the
// cluster's Transport. It returns the proxy's URL. Each response says
// which scheme reached the member.
func proxyTo(t *testing.T, c *Cluster, route Route) string {
	t.Helper()
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { DestinationOf(pr.In.Context()).Rewrite(pr.Out) },
		Transport: c.Transport(),
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set("X-Test-Scheme", DestinationOf(resp.Request.Context()).Scheme)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := route
		route.Tail = r.URL.EscapedPath()
		d, err := c.Resolve(r.Context(), route)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		proxy.ServeHTTP(w, r.WithContext(WithDestination(r.Context(), d)))
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// send resolves a route and sends req to its destination through the
// cluster's Transport, as the gateway's proxy does.
func send(t testing.TB, c *Cluster, route Route, req *http.Request) (*http.Response, *Destination, error) {
	t.Helper()
	if route.Tail == "" {
		route.Tail = req.URL.EscapedPath()
	}
	d, err := c.Resolve(context.Background(), route)
	if err != nil {
		return nil, nil, err
	}
	req = req.WithContext(WithDestination(req.Context(), d))
	d.Rewrite(req)
	resp, err := c.Transport().RoundTrip(req)
	return resp, d, err
}

// agentRoute starts a simulated cluster of one agent in mode, discovers
// it, and returns the agent's route.
func agentRoute(t *testing.T, mode sim.Mode) (*Cluster, *sim.Agent, Route) {
	t.Helper()
	sc := startSim(t, sim.Options{Modes: []sim.Mode{mode}})
	c := newCluster(t, sc, Config{})
	discover(t, c)
	a := sc.Agents()[0]
	return c, a, Route{Kind: KindAgent, Key: a.ID(), Prefix: AgentPrefix(a.ID())}
}

// browse GETs a URL through the proxy and returns the status and scheme.
func browse(t *testing.T, client *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Test-Scheme"), string(body)
}

// TestRestartBetweenRequests restarts an agent with other SSL settings
// between two requests of a browser through a reverse proxy: the second
// request is served, on the new scheme, without an error. Stats count the
// retry after the re-probe where the old scheme stopped working.
func TestRestartBetweenRequests(t *testing.T) {
	tests := []struct {
		from, to     sim.Mode
		scheme, then string
		retries      uint64
	}{
		{sim.Plain, sim.SSL, "http", "https", 1},
		// Plain still works: the next sweep moves it to TLS.
		{sim.Plain, sim.Downgrade, "http", "http", 0},
		{sim.Downgrade, sim.SSL, "https", "https", 0},
		{sim.SSL, sim.Plain, "https", "http", 1},
		{sim.SSL, sim.SSLClientCert, "https", "https", 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+" to "+string(tt.to), func(t *testing.T) {
			c, a, route := agentRoute(t, tt.from)
			front := proxyTo(t, c, route)
			client := &http.Client{Timeout: 20 * time.Second}
			for i, want := range []string{tt.scheme, tt.then} {
				if i == 1 {
					if err := a.Restart(tt.to); err != nil {
						t.Fatal(err)
					}
				}
				code, scheme, body := browse(t, client, front+"/slave(1)/state")
				if code != http.StatusOK || scheme != want {
					t.Fatalf("request %d: %d over %q (%s), want 200 over %s", i+1, code, scheme, body, want)
				}
				var state struct{ ID string }
				if err := json.Unmarshal([]byte(body), &state); err != nil || state.ID != a.ID() {
					t.Fatalf("request %d: body %.100s", i+1, body)
				}
			}
			if s := c.Stats(); s.Retries != tt.retries || s.Reprobes != tt.retries {
				t.Errorf("stats: %d retries after %d re-probes, want %d", s.Retries, s.Reprobes, tt.retries)
			}
		})
	}
}

// TestRequestWaitsForRestart: a GET to an agent that is down for a moment
// (stopped, then started again as a rolling upgrade does) waits for it and
// is served, instead of failing in the gap.
func TestRequestWaitsForRestart(t *testing.T) {
	c, a, route := agentRoute(t, sim.Plain)
	front := proxyTo(t, c, route)
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code         int
		scheme, body string
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(front + "/slave(1)/state")
		if err != nil {
			done <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, resp.Header.Get("X-Test-Scheme"), string(body)}
	}()
	// The request has found the agent gone once it re-probed it.
	testsupport.Eventually(t, "the re-probe after the failed connection", 0, func() bool { return c.Stats().Reprobes > 0 })
	if err := a.Restart(sim.SSL); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.code != http.StatusOK || r.scheme != "https" {
			t.Fatalf("request across the restart: %d over %q: %.200s", r.code, r.scheme, r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the request did not finish")
	}
}

// TestRequestsNotRetried: a request with a body is not sent twice, but the
// member is re-probed at once, so the next request finds it.
func TestRequestsNotRetried(t *testing.T) {
	c, a, route := agentRoute(t, sim.Plain)
	var d *Destination
	send := func(method string, body io.Reader) (*http.Response, error) {
		req, err := http.NewRequest(method, "http://ignored/slave(1)/state", body)
		if err != nil {
			t.Fatal(err)
		}
		var resp *http.Response
		resp, d, err = send(t, c, route, req)
		return resp, err
	}
	resp, err := send(http.MethodGet, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := a.Restart(sim.SSL); err != nil {
		t.Fatal(err)
	}
	if _, err := send(http.MethodPost, strings.NewReader("x=1")); err == nil || !strings.Contains(err.Error(), "re-probed: ssl-only") {
		t.Fatalf("POST after the restart: %v", err)
	}
	if got := agentMember(t, c.Snapshot(), a.ID()).Speaks(); got != SSLOnly {
		t.Errorf("after the failed POST the agent is known to speak %s", got)
	}
	if s := c.Stats(); s.Retries != 0 || s.Reprobes != 1 {
		t.Errorf("stats after the failed POST: %d retries after %d re-probes, want 0 after 1", s.Retries, s.Reprobes)
	}
	resp, err = send(http.MethodGet, nil)
	if err != nil || resp.StatusCode != http.StatusOK || d.Scheme != "https" {
		t.Fatalf("GET after the failed POST: %v", err)
	}
	resp.Body.Close()
}

// TestTransportErrors covers the typed errors of a member's transport.
func TestTransportErrors(t *testing.T) {
	sc := startSim(t, sim.Options{MasterModes: []sim.Mode{sim.SSL, sim.SSL}, Modes: []sim.Mode{sim.Plain, sim.SSL, sim.Downgrade}})
	plain, ssl, down := sc.Agents()[0], sc.Agents()[1], sc.Agents()[2]
	get := func(t *testing.T, c *Cluster, kind Kind, key string) (*http.Response, error) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://ignored/master/state", nil)
		resp, d, err := send(t, c, Route{Kind: kind, Key: key}, req)
		if d == nil && err != nil {
			t.Fatalf("Resolve(%s, %s): %v", kind, key, err)
		}
		if resp != nil {
			resp.Body.Close()
			resp.Header.Set("X-Test-Scheme", d.Scheme)
		}
		return resp, err
	}

	t.Run("unreachable, with the probe's reason", func(t *testing.T) {
		c := newCluster(t, sc, Config{})
		discover(t, c)
		stopped := sc.Agents()[0]
		if err := stopped.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopped.Restart(sim.Plain) })
		_, err := get(t, c, KindAgent, stopped.ID())
		var ue *Error
		if !errors.As(err, &ue) || ue.Reason != ReasonUnreachable || ue.Detail != "connection refused" || ue.Role != RoleAgent || ue.Address != stopped.Addr() {
			t.Fatalf("error %v", err)
		}
		if err.Error() != "agent "+stopped.Addr()+" is unreachable: connection refused" {
			t.Errorf("message %q", err)
		}
	})
	t.Run("TLS required refuses plain members", func(t *testing.T) {
		c := newCluster(t, sc, Config{UpstreamTLS: TLSRequired})
		discover(t, c)
		if _, err := get(t, c, KindAgent, plain.ID()); ReasonOf(err) != ReasonTLSRequired {
			t.Errorf("plain agent: %v", err)
		}
		for _, a := range []*sim.Agent{ssl, down} {
			if resp, err := get(t, c, KindAgent, a.ID()); err != nil || resp.Header.Get("X-Test-Scheme") != "https" {
				t.Errorf("agent %s: %v", a.Mode(), err)
			}
		}
	})
	t.Run("verification on, CA untrusted", func(t *testing.T) {
		s := gatewayTLS(true)
		s.CAFile, s.VerifyServerCert = "", true
		c := newCluster(t, sc, Config{TLS: newTLS(t, s)})
		// The masters' certificates do not verify either: discovery says so.
		if err := c.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate does not verify and LIBPROCESS_SSL_VERIFY_SERVER_CERT is on") {
			t.Fatalf("Refresh: %v", err)
		}
		// Behind a plain master, an agent's does not verify, a plain one is
		// reached.
		plainMaster := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL, sim.Plain}})
		c = newCluster(t, plainMaster, Config{TLS: newTLS(t, s)})
		discover(t, c)
		_, err := get(t, c, KindAgent, plainMaster.Agents()[0].ID())
		var ue *Error
		if !errors.As(err, &ue) || ue.Reason != ReasonCertificate || !strings.Contains(ue.Detail, "certificate does not verify and LIBPROCESS_SSL_VERIFY_SERVER_CERT is on") {
			t.Errorf("error %v", err)
		}
		if _, err := get(t, c, KindAgent, plainMaster.Agents()[1].ID()); err != nil {
			t.Errorf("a plain agent with verification on: %v", err)
		}
	})
	t.Run("redirects are returned, not followed", func(t *testing.T) {
		c := newCluster(t, sc, Config{})
		discover(t, c)
		resp, err := get(t, c, KindMaster, sc.Masters()[1].HostPort())
		if err != nil || resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//"+sc.Masters()[0].HostPort()+"/master/state" {
			t.Errorf("standby's answer: %v %v", resp, err)
		}
	})
}

// TestResolve covers routes and their errors.
func TestResolve(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}, Frameworks: []sim.FrameworkSpec{
		{Name: "marathon"}, {Name: "jenkins", UIPath: "/jenkins/"}, {Name: "batch", NoUI: true}, {Name: "twin"}, {Name: "twin"},
	}})
	c := newCluster(t, sc, Config{})
	discover(t, c)
	fws := sc.Frameworks()
	origin := func(webUI string) string { u, _ := url.Parse(webUI); return u.Scheme + "://" + u.Host }
	tests := []struct {
		name   string
		kind   Kind
		key    string
		tail   string
		origin string // scheme://address
		path   string
		reason Reason
	}{
		{"leader", KindLeader, "", "/x", "http://" + sc.Masters()[0].HostPort(), "/x", 0},
		{"standby by address", KindMaster, sc.Masters()[1].HostPort(), "/x", "http://" + sc.Masters()[1].HostPort(), "/x", 0},
		{"unknown master", KindMaster, "elsewhere.example.com:5050", "/", "", "", ReasonUnknown},
		{"agent", KindAgent, sc.Agents()[0].ID(), "/x", "http://" + sc.Agents()[0].Addr(), "/x", 0},
		{"unknown agent", KindAgent, "no-such-agent", "/", "", "", ReasonUnknown},
		{"framework by name", KindFrameworkName, "marathon", "/x", origin(fws[0].WebUIURL()), "/x", 0},
		{"framework under a path", KindFrameworkName, "jenkins", "/jobs", origin(fws[1].WebUIURL()), "/jenkins/jobs", 0},
		{"framework under a path, tail under it", KindFrameworkName, "jenkins", "/jenkins/jobs", origin(fws[1].WebUIURL()), "/jenkins/jobs", 0},
		{"framework by id", KindFrameworkID, fws[1].ID(), "/", origin(fws[1].WebUIURL()), "/jenkins/", 0},
		{"framework without UI", KindFrameworkName, "batch", "/", "", "", ReasonNoWebUI},
		{"repeated name: the latest", KindFrameworkName, "twin", "/", origin(fws[4].WebUIURL()), "/", 0},
		{"repeated name, first by id", KindFrameworkID, fws[3].ID(), "/", origin(fws[3].WebUIURL()), "/", 0},
		{"unknown framework", KindFrameworkName, "nope", "/", "", "", ReasonUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := c.Resolve(context.Background(), Route{Kind: tt.kind, Key: tt.key, Tail: tt.tail})
			if tt.reason != 0 {
				if ReasonOf(err) != tt.reason {
					t.Errorf("error %v, want reason %d", err, tt.reason)
				}
				return
			}
			if err != nil || d.Scheme+"://"+d.Address != tt.origin || d.Path != tt.path {
				t.Fatalf("Resolve: %v, %s://%s%s, want %s%s", err, d.Scheme, d.Address, d.Path, tt.origin, tt.path)
			}
		})
	}

	t.Run("framework UI through a proxy; its host cannot be redirected", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://evil.example.com/jenkins/api/info", nil)
		resp, _, err := send(t, c, Route{Kind: KindFrameworkName, Key: "jenkins"}, req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info struct{ Path string }
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != http.StatusOK || info.Path != "/jenkins/api/info" {
			t.Errorf("framework UI answered %d, %+v, %v", resp.StatusCode, info, err)
		}
	})
}
