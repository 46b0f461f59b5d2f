// Package e2e holds mesosgate's end-to-end tests and the benchmark harness
// that `make bench` runs: the real mesosgate binary, started as its own
// process in front of a simulated cluster, measured side by side with
// direct requests to the members in the same run.
package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// binary is the mesosgate command built for the package's tests, pki
// the certificates every cluster of the package shares, and zkServer the
// ZooKeeper its tests share (started by the first that asks; tests that
// stop ZooKeeper start their own).
var (
	binary   string
	pki      *sim.PKI
	workDir  string
	zkServer zktest.Shared
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		waitingParallel()
		var err error
		if workDir, err = os.MkdirTemp("", "mesosgate-e2e-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(workDir)
		defer zkServer.Close()
		binary = filepath.Join(workDir, "mesosgate")
		args := []string{"build", "-o", binary}
		if profileDir() != "" {
			// The profiling endpoint (profiler_pprof.go): see profileRound.
			args = append(args, "-tags", "pprof")
		}
		build := exec.Command("go", append(args, "github.com/mesosgate/mesosgate")...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build mesosgate:", err)
			return 1
		}
		if pki, err = sim.NewPKI(filepath.Join(workDir, "pki")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		results.print(os.Stdout)
		return code
	}())
}

// parallelTests is how many parallel tests run at once unless -parallel
// says otherwise: the package's parallel tests wait on peers (Chromium,
// real web apps, long polls of minutes) far more than they compute, and
// GOMAXPROCS (2 on a small machine) would queue them one after another.
const parallelTests = 8

// waitingParallel sets -parallel to parallelTests when it was not given.
func waitingParallel() {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(parallelTests))
	}
}

// gateway is a running `mesosgate serve` process.
type gateway struct {
	cmd    *exec.Cmd
	url    string // https://localhost:port
	client *http.Client
	stderr *testsupport.Buffer
	// cert is the front's certificate: what a browser is told to trust;
	// nil with gatewayOptions.OwnCert.
	cert *x509.Certificate
	// home is the process's HOME: its default data directory is
	// home/.local/share/mesosgate.
	home string
	// started is how long the process took from its start to readiness.
	started time.Duration
	// pprof is the address of the gateway's profiles, when the benchmarks
	// profile it (MESOSGATE_BENCH_PROFILE).
	pprof string
}

// gatewayOptions add to what startGateway runs the gateway with.
type gatewayOptions struct {
	// Env are extra NAME=value environment entries (LIBPROCESS_SSL_*).
	Env []string
	// Args are extra command-line arguments after --master and --listen.
	Args []string
	// Master, if set, is --master (zk://...); "" gives the cluster's
	// masters by address.
	Master string
	// Listen is the front's address; "" means 127.0.0.1:0 (any free
	// port). A test that must name the port before the gateway starts
	// (an OIDC redirect URL) picks one with freePort.
	Listen string
	// ClientCert, if set, is presented by the gateway's client (its
	// readiness check included): for a front that demands one. Nil
	// presents none.
	ClientCert *tls.Certificate
	// OwnCert leaves the front's certificate to the source Args choose
	// (internal, acme) instead of the cluster CA's: client then trusts
	// any certificate, for the readiness checks; tests check what is
	// served themselves.
	OwnCert bool
	// ServerName is the name client asks for (SNI); "" means localhost.
	ServerName string
	// Binary is the mesosgate to run; "" is the one built for the tests.
	Binary string
	// DNSNames are names the front's certificate covers besides
	// localhost (*.localhost for --service-domain localhost).
	DNSNames []string
}

// startGateway runs `mesosgate serve` in front of c's masters with a front
// certificate from the cluster's CA (also its client certificate for
// ssl-clientcert members), until the test or benchmark ends.
func startGateway(tb testing.TB, c *sim.Cluster, args ...string) *gateway {
	tb.Helper()
	return startGatewayWith(tb, c, gatewayOptions{Args: args})
}

// startGatewayWith is startGateway with extra environment and arguments.
func startGatewayWith(tb testing.TB, c *sim.Cluster, o gatewayOptions) *gateway {
	tb.Helper()
	dir := tb.TempDir()
	leaf, err := pki.CA.Issue(tlsx.LeafRequest{DNSNames: append([]string{"localhost"}, o.DNSNames...), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "gw.pem"), filepath.Join(dir, "gw-key.pem")
	if err := leaf.WriteFiles(certFile, keyFile); err != nil {
		tb.Fatal(err)
	}
	master, listen := o.Master, o.Listen
	if master == "" {
		var masters []string
		for _, m := range c.Masters() {
			masters = append(masters, m.Addr())
		}
		master = strings.Join(masters, ",")
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	bin := binary
	if o.Binary != "" {
		bin = o.Binary
	}
	cmd := exec.Command(bin, append([]string{"serve", "--master", master, "--listen", listen}, o.Args...)...)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	g := &gateway{cmd: cmd, stderr: &testsupport.Buffer{}, home: dir}
	if !o.OwnCert {
		cmd.Env = append(cmd.Env, "LIBPROCESS_SSL_CERT_FILE="+certFile, "LIBPROCESS_SSL_KEY_FILE="+keyFile)
		g.cert = leaf.Cert
	}
	cmd.Env = append(cmd.Env, o.Env...) // the test's own settings win
	if profileDir() != "" {
		g.pprof = "127.0.0.1:" + strconv.Itoa(freePort(tb))
		cmd.Env = append(cmd.Env, "MESOSGATE_PPROF="+g.pprof)
	}
	begin := time.Now()
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving url=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			g.stderr.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		}
	}()
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		pw.Close()
		if tb.Failed() {
			tb.Logf("gateway log:\n%s", g.stderr)
		}
	})
	select {
	case g.url = <-urls:
	case <-time.After(30 * time.Second):
		tb.Fatalf("the gateway did not start:\n%s", g.stderr)
	}
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if o.OwnCert {
		cfg = &tls.Config{InsecureSkipVerify: true, ServerName: o.ServerName}
	}
	if o.ClientCert != nil {
		cfg.Certificates = []tls.Certificate{*o.ClientCert}
	}
	g.client = httpsClient(cfg)
	// Wait for discovery and every member's first probe.
	testsupport.Eventually(tb, "the gateway's readiness", 30*time.Second, func() bool {
		resp, err := g.client.Get(g.url + "/gateway/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	g.started = time.Since(begin)
	return g
}

// peakRSS is the gateway process's peak resident set size in MiB
// (VmHWM); resetPeak starts a new peak (Linux: clear_refs 5).
func (g *gateway) peakRSS() float64 { return procStatusMB(g.cmd.Process.Pid, "VmHWM:") }
func (g *gateway) rss() float64     { return procStatusMB(g.cmd.Process.Pid, "VmRSS:") }

func (g *gateway) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", g.cmd.Process.Pid), []byte("5"), 0)
}

func procStatusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// memberClient reaches members directly as a browser would if it could:
// trusting the cluster's CA, offering the suites stock members accept
// (tlsx's connecting side).
func memberClient(tb testing.TB) *http.Client {
	tb.Helper()
	tc, err := tlsx.NewContext(tlsx.Settings{CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}, tlsx.Options{ReloadInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tc.Close() })
	cfg := tc.ClientConfig("localhost", netipLoopback)
	roots := x509.NewCertPool()
	roots.AddCert(pki.CA.Cert)
	cfg.RootCAs = roots
	return httpsClient(cfg)
}

// httpsClient is a keep-alive HTTP/1.1 client with cfg that decompresses
// nothing and follows no redirects.
func httpsClient(cfg *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:     cfg,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true,
			TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// startCluster starts a simulated cluster for the package, closed at the
// end of the test or benchmark.
func startCluster(tb testing.TB, o sim.Options) *sim.Cluster {
	tb.Helper()
	o.PKI = pki
	c, err := sim.Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
