package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file holds the isolation tests of issue 14 that need no browser,
// run against the real gateway binary in front of a simulated cluster
// whose state names hostile frameworks and agents: the address policy
// (the gateway is no way into the network), the loop guard, stalled
// bodies and slow clients, dot segments, and the checks at start. The
// browser's side is isolation_browser_test.go.

// reply is what a client got from the gateway.
type reply struct {
	status int
	header http.Header
	body   string
}

// problem decodes a problem+json body, nil when the body is not one.
func (r reply) problem() map[string]any {
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		return nil
	}
	var p map[string]any
	if json.Unmarshal([]byte(r.body), &p) != nil {
		return nil
	}
	return p
}

// send makes one request through the gateway as an API client (Accept:
// application/json) with the header pairs given.
func (g *gateway) send(t testing.TB, method, path string, body io.Reader, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// countingListener is a service on the network that the gateway must
// never reach: it counts the connections it accepts, and answers each
// request with a secret.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// internalService starts such a service on addr ("127.0.0.2:0": another
// loopback address, no member's).
func internalService(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s (%v): this machine's loopback has one address", addr, err)
	}
	l := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal secret")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l
}

// portsAndIDs takes what differs between two answers that must say the
// same (ports, request ids, framework names) out of a body.
var portsAndIDs = regexp.MustCompile(`:[0-9]{2,5}\b|"request_id": "[^"]*"|internal-(open|closed)`)

// TestAddressPolicy: the master's state names framework UIs and agents
// at addresses the gateway must not connect to. For each, a client
// asking the real gateway gets a 403 problem naming the setting
// (--service-allow) and the rule, nothing reaches the address, and an
// open port cannot be told from a closed one: not by the answer, not by
// /gateway/api/cluster. Covered:
//   - framework UIs at a non-member address (an internal service on
//     another loopback address, open and closed ports), at the cloud
//     metadata address (IPv4, and IPv4-mapped IPv6), at the gateway's own
//     listening address, and at a name (localhost) that resolves to the
//     gateway's own address;
//   - agents whose pid is the metadata address or the gateway's own.
//
// A framework UI on a member's host is served (the control: the policy
// does not refuse everything).
func TestAddressPolicy(t *testing.T) {
	t.Parallel()
	open := internalService(t, "127.0.0.2:0")
	closedLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	closedLn.Close()
	port := strconv.Itoa(freePort(t))
	self := "127.0.0.1:" + port
	uis := []sim.FrameworkSpec{
		{Name: "marathon"},
		{Name: "internal-open", WebUIURL: "http://" + open.Addr().String() + "/"},
		{Name: "internal-closed", WebUIURL: "http://" + closed + "/"},
		{Name: "metadata", WebUIURL: "http://169.254.169.254/latest/meta-data/"},
		{Name: "metadata-mapped", WebUIURL: "http://[::ffff:169.254.169.254]:80/"},
		{Name: "gateway-self", WebUIURL: "https://" + self + "/"},
		{Name: "gateway-by-name", WebUIURL: "https://localhost:" + port + "/"},
	}
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain, sim.Plain, sim.Plain}, Frameworks: uis})
	agents := c.Agents()
	agents[1].ClaimPID("169.254.169.254:5051")
	agents[2].ClaimPID(self)
	g := startGatewayWith(t, c, gatewayOptions{Listen: self})

	if r := g.send(t, "GET", "/service/marathon/api/info", nil); r.status != 200 {
		t.Fatalf("a framework UI on a member's host: %d %.300s", r.status, r.body)
	}
	refused := func(t *testing.T, path, rule string) reply {
		t.Helper()
		r := g.send(t, "GET", path, nil)
		p := r.problem()
		detail, _ := p["detail"].(string)
		action, _ := p["action"].(string)
		if r.status != http.StatusForbidden || p == nil || p["title"] != "Address not allowed" ||
			!strings.Contains(detail, rule) || !strings.Contains(action, "--service-allow") {
			t.Errorf("GET %s: %d %s\nwant 403 \"Address not allowed\" saying %q and naming --service-allow", path, r.status, r.body, rule)
		}
		return r
	}
	const notMember = "is neither a cluster member's host nor in --service-allow"
	const metadata = "is a link-local or cloud metadata address"
	const own = "is the gateway's own address"
	t.Run("framework_UIs", func(t *testing.T) {
		openReply := refused(t, "/service/internal-open/", notMember)
		closedReply := refused(t, "/service/internal-closed/", notMember)
		if a, b := portsAndIDs.ReplaceAllString(openReply.body, ""), portsAndIDs.ReplaceAllString(closedReply.body, ""); a != b {
			t.Errorf("an open and a closed port get different answers:\n%s\n%s", openReply.body, closedReply.body)
		}
		refused(t, "/service/metadata/latest/meta-data/iam/", metadata)
		refused(t, "/service/metadata-mapped/", metadata)
		refused(t, "/service/gateway-self/gateway/api/cluster", own)
		refused(t, "/service/gateway-by-name/", own)
		if n := open.accepted.Load(); n != 0 {
			t.Errorf("the internal service accepted %d connections", n)
		}
	})
	t.Run("agents", func(t *testing.T) {
		refused(t, "/agent/"+agents[1].ID()+"/slave(1)/state", metadata)
		refused(t, "/agent/"+agents[2].ID()+"/slave(1)/state", own)
	})
	t.Run("cluster_report", func(t *testing.T) {
		var rep upstream.Report
		r := g.send(t, "GET", "/gateway/api/cluster", nil)
		if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
			t.Fatalf("/gateway/api/cluster: %v", err)
		}
		for _, want := range []struct{ addr, rule string }{{"169.254.169.254:5051", metadata}, {self, own}} {
			m := memberAt(&rep, want.addr)
			if m == nil {
				t.Errorf("no member at %s in the report", want.addr)
				continue
			}
			if m.Speaks != upstream.Unreachable || !strings.Contains(m.Error+m.TLSError+m.PlainError, want.rule) {
				t.Errorf("the agent at %s: speaks %q, error %q / %q / %q, want unreachable by the rule %q", want.addr, m.Speaks, m.Error, m.TLSError, m.PlainError, want.rule)
			}
		}
		// Framework UIs are never probed: the report says where each
		// claims to be, and nothing about what answers there.
		var fws []string
		for _, f := range rep.Frameworks {
			if strings.HasPrefix(f.Name, "internal-") {
				b, _ := json.Marshal(f)
				fws = append(fws, portsAndIDs.ReplaceAllString(strings.ReplaceAll(string(b), f.ID, ""), ""))
			}
		}
		if len(fws) != 2 || fws[0] != fws[1] {
			t.Errorf("the report tells the open and the closed port apart: %v", fws)
		}
		if n := open.accepted.Load(); n != 0 {
			t.Errorf("the internal service accepted %d connections", n)
		}
	})
}
