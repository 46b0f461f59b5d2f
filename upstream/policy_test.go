package upstream

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestAddressPolicy: framework UIs registered at addresses no framework UI
// may be at are refused before any connection (a hostile webui_url cannot
// make the gateway reach an internal service or the cloud's metadata, nor
// tell an open port from a closed one); --service-allow opens a host or a
// network; the gateway's own address is never a destination.
func TestAddressPolicy(t *testing.T) {
	// An internal service on another loopback address, which no member
	// uses: it must never see a request.
	var hits atomic.Int64
	internal := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("internal secret"))
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address here: %v", err)
	}
	internal.Listener = ln
	internal.Start()
	defer internal.Close()
	closed := "127.0.0.2:1" // nothing listens: refused the same way

	own, err := net.Listen("tcp", "127.0.0.1:0") // stands for the gateway's listener
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	_, ownPort, _ := net.SplitHostPort(own.Addr().String())

	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Frameworks: []sim.FrameworkSpec{
		{Name: "marathon"},
		{Name: "internal", WebUIURL: internal.URL + "/"},
		{Name: "closed", WebUIURL: "http://" + closed + "/"},
		{Name: "metadata", WebUIURL: "http://169.254.169.254/latest/meta-data/"},
		{Name: "ecs", WebUIURL: "http://[fd00:ec2::254]/"},
		{Name: "loop", WebUIURL: "http://localhost:" + ownPort + "/"},
	}})
	get := func(t *testing.T, c *Cluster, name string) (int, *Error) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://ignored/", nil)
		resp, _, err := send(t, c, Route{Kind: KindFrameworkName, Key: name}, req)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("%s: %T %v", name, err, err)
			}
			return 0, e
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	c := newCluster(t, sc, Config{})
	c.Exclude(own.Addr())
	discover(t, c)
	for _, tt := range []struct{ name, why string }{
		{"internal", "is neither a cluster member's host nor in --service-allow"},
		{"closed", "is neither a cluster member's host nor in --service-allow"},
		{"metadata", "link-local or cloud metadata"},
		{"ecs", "link-local or cloud metadata"},
		{"loop", "the gateway's own address"}, // a name that resolves to it
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			_, e := get(t, c, tt.name)
			if e == nil || e.Reason != ReasonForbidden || !strings.Contains(e.Detail, tt.why) {
				t.Errorf("error %v, want ReasonForbidden saying %q", e, tt.why)
			}
		})
	}
	if code, e := get(t, c, "marathon"); code != http.StatusOK {
		t.Errorf("a framework UI on a member's host: %d %v", code, e)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service got %d requests", n)
	}

	t.Run("--service-allow", func(t *testing.T) {
		for _, allow := range []string{"127.0.0.2", "127.0.0.0/24"} {
			c := newCluster(t, sc, Config{Policy: Policy{ServiceAllow: []string{allow}}})
			discover(t, c)
			if code, e := get(t, c, "internal"); code != http.StatusOK {
				t.Errorf("allowed by %s: %d %v", allow, code, e)
			}
			if _, e := get(t, c, "metadata"); e == nil || e.Reason != ReasonForbidden {
				t.Errorf("the metadata address with --service-allow %s: %v", allow, e)
			}
		}
	})
	t.Run("bad entries", func(t *testing.T) {
		_, err := New(Config{Masters: []Master{{Address: "m:5050"}}, Policy: Policy{ServiceAllow: []string{"10.0.0.0/33"}}})
		if err == nil || !strings.Contains(err.Error(), "10.0.0.0/33") {
			t.Errorf("New: %v", err)
		}
	})
}

// TestMemberAtForbiddenAddress: an agent whose pid names a link-local
// address is never probed nor proxied to; it shows as unreachable, saying
// why, and a request to it is refused by the policy at once, not waited
// for as a member being restarted (found by e2e TestAddressPolicy: a 502
// "Member unreachable" after 1.6 s).
func TestMemberAtForbiddenAddress(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Frameworks: []sim.FrameworkSpec{}})
	agent := sc.Agents()[0]
	agent.ClaimPID("169.254.169.254:5051")
	c := newCluster(t, sc, Config{})
	discover(t, c)
	c.mu.Lock()
	m := c.memberLocked("169.254.169.254:80", "metadata", netip.MustParseAddr("169.254.169.254"))
	c.mu.Unlock()
	p := c.probeAfter(context.Background(), m, 0)
	if p.Speaks != Unreachable || !p.Refused() || !strings.Contains(p.Reason, "link-local or cloud metadata") {
		t.Errorf("probe: %s %q", p.Speaks, p.Reason)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://ignored/slave(1)/state", nil)
	start := time.Now()
	_, _, err := send(t, c, Route{Kind: KindAgent, Key: agent.ID()}, req)
	e, ok := err.(*Error)
	if !ok || e.Reason != ReasonForbidden || !strings.Contains(e.Detail, "link-local or cloud metadata") || e.Role != RoleAgent {
		t.Errorf("a request to the agent: %v, want ReasonForbidden naming the rule", err)
	}
	if took := time.Since(start); took > restartGrace/2 {
		t.Errorf("the refusal took %s: it waited for the member", took)
	}
}
