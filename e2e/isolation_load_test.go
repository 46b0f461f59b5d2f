package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// This file is issue 14's load of hostile clients on the real gateway:
// slow clients (headers sent a byte at a time, downloads never read) and
// request bodies that stop mid-way, over HTTP/1.1 and HTTP/2, while
// normal requests go on. What it measures is logged; what it asserts is
// what a user sees (normal requests succeed) and what the members see
// (their connections come back), never a latency bound on a busy machine.

// The attack's size (the numbers) and the body idle timeout the
// gateway runs with in the test.
const (
	slowClients    = 500
	stalledBodies  = 1000
	bodyIdle       = 3 * time.Second
	stallSlowReads = 100 // of the slow clients, those that read a download slowly
)

// TestStalledBodiesAndSlowClients runs, once over HTTP/1.1 (a connection
// per stalled body) and once over HTTP/2 (the stalled bodies as streams of
// a few connections), 500 slow clients and 1,000 POSTs to the leader's
// /api/v1 whose bodies stop after a few bytes, while four clients keep
// reading /master/state and a sandbox file through the gateway. It
// asserts that the normal requests keep succeeding (at least 99%), that
// every stalled body is answered within the body idle timeout and a
// margin (408, or 503 for those the leader's bound kept waiting), and that
// the leader's connections come back once the bodies are cut. It logs
// the normal requests' success rate and p99, the leader connections held
// at the peak, and the time to cut.
func TestStalledBodiesAndSlowClients(t *testing.T) {
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Frameworks: []sim.FrameworkSpec{{Name: "marathon"}}, LargeFileSize: 64 << 20})
	g := startGatewayWith(t, c, gatewayOptions{Args: []string{"--allow-writes", "--body-idle-timeout", bodyIdle.String()}})
	agent := c.Agents()[0]
	sb, err := agent.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	sandbox := "/agent/" + agent.ID() + "/files/read?path=" + sb[0].Directory + "/stdout&offset=0&length=4096"
	download := "/agent/" + agent.ID() + "/files/download?path=" + sb[0].Directory + "/large.bin"
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(strings.ReplaceAll(proto, "/", ""), func(t *testing.T) {
			a := &attack{t: t, g: g, leader: c.Leader().Port(), agent: agent.Port(), proto: proto}
			a.run(sandbox, download)
		})
	}
}

// attack is one run of TestStalledBodiesAndSlowClients.
type attack struct {
	t *testing.T
	g *gateway
	// leader and agent are the members' ports, whose connections are
	// counted.
	leader, agent int
	proto         string
}

// run attacks, measures and checks.
func (a *attack) run(sandbox, download string) {
	baseline := memberConns(a.leader)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// The slow clients and the normal requests start first, and last
	// until the stalled bodies are all answered and the leader's
	// connections released, and a few normal requests after that.
	gw := sampleResources(a.g.cmd.Process.Pid)
	slow := a.slowClients(ctx, download)
	normal := a.normalRequests(ctx, "/master/state", sandbox)
	peaks := a.watchMembers(ctx)

	start := time.Now()
	m := measured{baseline: baseline, stalled: a.stalledBodies()}
	m.answered = time.Since(start)
	testsupport.Eventually(a.t, "the leader's connections to be released", 20*time.Second, func() bool {
		m.released = time.Since(start)
		return memberConns(a.leader) <= baseline+8
	})
	after := normal.count()
	testsupport.Eventually(a.t, "normal requests after the cut", 20*time.Second, func() bool { return normal.count() >= after+40 })
	stop()
	m.normal, m.slow = normal.wait(), slow.wait()
	m.leaderPeak, m.agentPeak = peaks.wait()
	m.leaderAfter = memberConns(a.leader)
	gw.end()
	m.gateway = gw
	a.report(m)
}

// measured is what one attack measured.
type measured struct {
	stalled               []stalled
	answered, released    time.Duration // since the stalled bodies were sent
	baseline, leaderAfter int           // the leader's connections
	leaderPeak, agentPeak int
	normal                *normalLoad
	slow                  string
	gateway               *resources
}

// report logs the measures and checks what a user and the members see.
func (a *attack) report(m measured) {
	t := a.t
	codes, errs := map[int]int{}, map[string]int{}
	var cuts []time.Duration
	for _, r := range m.stalled {
		codes[r.status]++
		if r.err != "" {
			errs[r.err]++
		}
		if r.status == http.StatusRequestTimeout {
			cuts = append(cuts, r.after)
		}
	}
	t.Logf("%s: %d stalled bodies answered %v within %s; the 408s came %s (median) to %s (max) after their last byte, the body idle timeout being %s",
		a.proto, len(m.stalled), codes, m.answered.Round(time.Millisecond), percentile(cuts, 0.5).Round(time.Millisecond), percentile(cuts, 1).Round(time.Millisecond), bodyIdle)
	t.Logf("%s: leader connections %d before, %d at the peak, back to %d after %s; agent connections at the peak %d; the gateway's peak RSS %.1f MiB, peak descriptors %d",
		a.proto, m.baseline, m.leaderPeak, m.leaderAfter, m.released.Round(time.Millisecond), m.agentPeak, m.gateway.peakRSS, m.gateway.peakFDs)
	t.Logf("%s: %d slow clients (%d trickling headers, %d not reading a download): %s", a.proto, slowClients, slowClients-stallSlowReads, stallSlowReads, m.slow)
	for _, path := range m.normal.paths() {
		ok, total, p50, p99 := m.normal.stats(path)
		t.Logf("%s: normal GET %s: %d/%d succeeded (%.2f%%), p50 %s, p99 %s; failures: %v",
			a.proto, strings.SplitN(path, "?", 2)[0], ok, total, 100*float64(ok)/float64(max(total, 1)), p50.Round(time.Millisecond), p99.Round(time.Millisecond), m.normal.fail[path])
		if total == 0 || float64(ok) < 0.99*float64(total) {
			t.Errorf("%s: normal GET %s: %d of %d succeeded, want at least 99%%", a.proto, path, ok, total)
		}
	}
	if codes[http.StatusRequestTimeout] == 0 || codes[http.StatusRequestTimeout]+codes[http.StatusServiceUnavailable] != stalledBodies {
		t.Errorf("%s: stalled bodies answered %v (errors %v), want 408 (or 503 when the leader's bound was full) for each of %d", a.proto, codes, errs, stalledBodies)
	}
	if len(cuts) > 0 && percentile(cuts, 0) < bodyIdle {
		t.Errorf("%s: a stalled body was cut %s after its last byte, before the body idle timeout %s", a.proto, percentile(cuts, 0), bodyIdle)
	}
	if limit := bodyIdle + 10*time.Second; m.answered > limit {
		t.Errorf("%s: the stalled bodies took %s to be answered, more than the body idle timeout %s and a margin", a.proto, m.answered, bodyIdle)
	}
}

// memberConns counts the established TCP connections to a member's port,
// from the kernel's table (the member's side of what the gateway holds).
func memberConns(port int) int {
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		suffix := fmt.Sprintf(":%04X", port)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], suffix) && f[3] == "01" {
				n++
			}
		}
	}
	return n
}

// watchMembers samples the leader's and the agent's connections until
// ctx ends; wait returns their peaks.
func (a *attack) watchMembers(ctx context.Context) *peakWatch {
	w := &peakWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			w.leader = max(w.leader, memberConns(a.leader))
			w.agent = max(w.agent, memberConns(a.agent))
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

type peakWatch struct {
	leader, agent int
	done          chan struct{}
}

func (w *peakWatch) wait() (leader, agent int) { <-w.done; return w.leader, w.agent }

// stalledStart is all a stalled body sends of the 100,000 bytes it
// announces: the start of a form to /master/teardown, a libprocess
// endpoint whose body the gateway streams to the leader unread (a v1
// operator call's JSON is read whole by access control first, and never
// reaches a member stalled).
const stalledStart = "frameworkId="

// stalled is how one stalled body was answered: the status, or the
// error that came instead, and how long after its last byte.
type stalled struct {
	status int
	err    string
	after  time.Duration
}

// h2Conns is how many HTTP/2 connections carry the stalled bodies: the
// gateway allows 250 streams on each (net/http's default), as the
// issue's 1,000 POSTs over 4 connections.
const h2Conns = 4

// stalledBodies sends the POSTs whose bodies stop, all at once, and
// returns their answers.
func (a *attack) stalledBodies() []stalled {
	out := make([]stalled, stalledBodies)
	send := func(int) stalled { return a.stalledH1() }
	if a.proto == "HTTP/2" {
		conns := make([]*http2.ClientConn, h2Conns)
		for i := range conns {
			conns[i] = a.h2Conn()
			defer conns[i].Close()
		}
		send = func(i int) stalled { return a.stalledH2(conns[i%len(conns)]) }
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i] = send(i) })
	}
	wg.Wait()
	return out
}

// stalledH1 sends a POST on a connection of its own, the header and the
// start of a body that says it is longer, then nothing.
func (a *attack) stalledH1() stalled {
	conn, err := a.dialFront("http/1.1")
	if err != nil {
		return stalled{err: err.Error()}
	}
	defer conn.Close()
	// Taken before the write: a goroutine descheduled after it would
	// make the cut seem sooner than it was.
	sent := time.Now()
	fmt.Fprintf(conn, "POST /master/teardown HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n%s", stalledStart)
	conn.SetReadDeadline(time.Now().Add(bodyIdle + 30*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return stalled{err: err.Error(), after: time.Since(sent)}
	}
	resp.Body.Close()
	return stalled{status: resp.StatusCode, after: time.Since(sent)}
}

// stalledH2 sends the same POST as a stream of cc.
func (a *attack) stalledH2(cc *http2.ClientConn) stalled {
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", a.g.url+"/master/teardown", pr)
	req.ContentLength = 100000
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sent := time.Now()
	go pw.Write([]byte(stalledStart))
	ctx, cancel := context.WithTimeout(context.Background(), bodyIdle+30*time.Second)
	defer cancel()
	resp, err := cc.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return stalled{err: err.Error(), after: time.Since(sent)}
	}
	resp.Body.Close()
	return stalled{status: resp.StatusCode, after: time.Since(sent)}
}

// h2Conn opens an HTTP/2 connection to the gateway. Its streams wait for
// a free slot (StrictMaxConcurrentStreams): otherwise a request beyond the
// 100 streams a client assumes until the server's SETTINGS arrive fails at
// once as "client conn not usable" (107 of the 1,000 once, on a loaded
// machine), never reaching the gateway.
func (a *attack) h2Conn() *http2.ClientConn {
	a.t.Helper()
	conn, err := a.dialFront("h2")
	if err != nil {
		a.t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		a.t.Fatalf("the gateway negotiated %q, not h2", p)
	}
	cc, err := (&http2.Transport{StrictMaxConcurrentStreams: true}).NewClientConn(conn)
	if err != nil {
		a.t.Fatal(err)
	}
	return cc
}

// dialFront opens a TLS connection to the gateway offering proto.
func (a *attack) dialFront(proto string) (*tls.Conn, error) {
	cfg := a.g.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = []string{proto}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: cfg}
	conn, err := d.Dial("tcp", strings.TrimPrefix(a.g.url, "https://"))
	if err != nil {
		return nil, err
	}
	return conn.(*tls.Conn), nil
}

// slowGroup is the slow clients while they run.
type slowGroup struct {
	wg                        sync.WaitGroup
	connected, cut, readBytes atomic.Int64
}

func (s *slowGroup) wait() string {
	s.wg.Wait()
	return fmt.Sprintf("%d connected, %d of those trickling headers cut by the gateway; the readers took %d bytes in all",
		s.connected.Load(), s.cut.Load(), s.readBytes.Load())
}

// slowClients starts the slow clients: most send a request's header a
// line every second and never finish it; the rest ask for a large
// download and read one byte a second. They stop when ctx ends.
func (a *attack) slowClients(ctx context.Context, download string) *slowGroup {
	s := &slowGroup{}
	for i := range slowClients {
		s.wg.Go(func() {
			conn, err := a.dialFront("http/1.1")
			if err != nil {
				return
			}
			s.connected.Add(1)
			go func() { <-ctx.Done(); conn.Close() }()
			if i < stallSlowReads {
				a.slowReader(ctx, conn, download, s)
				return
			}
			if _, err := io.WriteString(conn, "GET /master/state HTTP/1.1\r\nHost: localhost\r\n"); err != nil {
				return
			}
			for n := 0; ctx.Err() == nil; n++ {
				time.Sleep(time.Second)
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", n); err != nil {
					if ctx.Err() == nil {
						s.cut.Add(1)
					}
					return
				}
			}
		})
	}
	return s
}

// slowReader asks for the download and takes a byte a second of it.
func (a *attack) slowReader(ctx context.Context, conn *tls.Conn, download string, s *slowGroup) {
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", download)
	one := make([]byte, 1)
	for ctx.Err() == nil {
		n, err := conn.Read(one)
		s.readBytes.Add(int64(n))
		if err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// normalLoad is the normal requests' results by path.
type normalLoad struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	took map[string][]time.Duration // successes
	fail map[string]map[string]int  // failures by status or error
}

// normalRequests starts four clients, each reading the paths in turn
// through the gateway over its own keep-alive connection, until ctx ends.
func (a *attack) normalRequests(ctx context.Context, paths ...string) *normalLoad {
	l := &normalLoad{took: map[string][]time.Duration{}, fail: map[string]map[string]int{}}
	for _, p := range paths {
		l.took[p], l.fail[p] = nil, map[string]int{}
	}
	for range 4 {
		l.wg.Go(func() {
			tr := a.g.client.Transport.(*http.Transport).Clone()
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			for ctx.Err() == nil {
				for _, p := range paths {
					start := time.Now()
					resp, err := client.Get(a.g.url + p)
					why := ""
					if err != nil {
						why = err.Error()
					} else {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							why = strconv.Itoa(resp.StatusCode)
						}
					}
					l.mu.Lock()
					if why == "" {
						l.took[p] = append(l.took[p], time.Since(start))
					} else {
						l.fail[p][why]++
					}
					l.mu.Unlock()
				}
			}
		})
	}
	return l
}

func (l *normalLoad) wait() *normalLoad { l.wg.Wait(); return l }

// count is how many requests were answered so far.
func (l *normalLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for p, took := range l.took {
		n += len(took)
		for _, k := range l.fail[p] {
			n += k
		}
	}
	return n
}

func (l *normalLoad) paths() []string {
	var out []string
	for p := range l.took {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// stats are the successes, the total, and the successes' p50 and p99.
func (l *normalLoad) stats(path string) (ok, total int, p50, p99 time.Duration) {
	ok, total = len(l.took[path]), len(l.took[path])
	for _, n := range l.fail[path] {
		total += n
	}
	return ok, total, percentile(l.took[path], 0.5), percentile(l.took[path], 0.99)
}
