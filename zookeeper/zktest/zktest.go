// Package zktest runs a real ZooKeeper server for tests, as httptest runs
// an HTTP server: Debian's zookeeper package, started as a child process
// on a free loopback port with its own configuration and data directory.
//
// Starting a server takes about half a second to two seconds (a JVM), so
// a test package shares one: declare a Shared in the package, call
// Shared.Server(t) in each test that needs ZooKeeper (the first call
// starts it), and Shared.Close after m.Run in TestMain. Tests sharing a
// server use znode paths of their own (Path gives one per test). A test
// that stops or restarts its server starts one of its own with Start.
//
// Without the package, tests skip with a message saying what to install;
// with CI=true they fail instead.
package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Jar is the server's jar in Debian's zookeeper package (libzookeeper-java):
// its manifest names the jars it needs.
const Jar = "/usr/share/java/zookeeper.jar"

// Install says what provides the server.
const Install = "install Debian's zookeeper package (apt-get install zookeeper, or make deps)"

// mainClass is ZooKeeper's standalone server.
const mainClass = "org.apache.zookeeper.server.ZooKeeperServerMain"

// startTimeout bounds a start: a JVM on a loaded 2-core machine.
const startTimeout = 60 * time.Second

// ErrNotInstalled is returned by NewServer when Java or the ZooKeeper jar
// is missing.
var ErrNotInstalled = errors.New("ZooKeeper is not installed: " + Install)

// Server is a running (or stopped) ZooKeeper server. Its methods are safe
// for concurrent use.
type Server struct {
	dir  string
	addr string
	own  bool // dir was made by NewServer and is removed by Close

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	started time.Duration // how long the last start took
}

// Options configure NewServer. The zero value works.
type Options struct {
	// Dir holds the configuration, data and log. "" means a new
	// temporary directory, removed by Close. When the tests run as root,
	// the server runs as "nobody", so a given Dir must be reachable by
	// that user.
	Dir string
}

// NewServer starts a server on a free loopback port. It returns
// ErrNotInstalled when the package is missing.
func NewServer(opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	s := &Server{dir: opts.Dir}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "zktest-")
		if err != nil {
			return nil, fmt.Errorf("create the server's directory: %w", err)
		}
		s.dir, s.own = dir, true
	}
	port, err := freePort()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := s.configure(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Start starts a server for the test, stopped and removed when the test
// ends. It skips the test when ZooKeeper is not installed (fails it when
// CI=true).
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer(Options{})
	if err != nil {
		Skip(t, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close ZooKeeper: %v", err)
		}
	})
	return s
}

// Skip ends the test for err from NewServer: a skip saying what to
// install when ZooKeeper is missing (a failure when CI=true), a failure
// otherwise.
func Skip(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	t.Fatalf("start ZooKeeper: %v", err)
}

// Available reports whether a server can be started: Java and the jar.
func Available() error {
	if _, err := os.Stat(Jar); err != nil {
		return fmt.Errorf("%w (%s is missing)", ErrNotInstalled, Jar)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("%w (no java on the PATH)", ErrNotInstalled)
	}
	return nil
}

// Addr returns the client address, "127.0.0.1:port". It stays the same
// across Stop and Start.
func (s *Server) Addr() string { return s.addr }

// URL returns "zk://127.0.0.1:port" followed by path.
func (s *Server) URL(path string) string { return "zk://" + s.addr + path }

// Dir returns the directory holding the configuration (zoo.cfg), the data
// and the log (zookeeper.log).
func (s *Server) Dir() string { return s.dir }

// StartTime returns how long the last Start took, until the server
// answered as serving.
func (s *Server) StartTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// configure writes zoo.cfg. A short tick lets tests ask for short
// sessions (minimum two ticks) and makes expiry prompt; the admin server
// (an HTTP port of its own) is off; forceSync=no keeps writes fast, and
// Stop's kill loses nothing since the kernel holds what was written.
func (s *Server) configure() error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("create the data directory: %w", err)
	}
	_, port, _ := net.SplitHostPort(s.addr)
	cfg := strings.Join([]string{
		"tickTime=100",
		"minSessionTimeout=200",
		"maxSessionTimeout=60000",
		"dataDir=" + data,
		"clientPort=" + port,
		"clientPortAddress=127.0.0.1",
		"maxClientCnxns=0",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr,ruok,stat",
		"forceSync=no",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(s.dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("write zoo.cfg: %w", err)
	}
	return s.giveAway()
}

// giveAway hands the directory to "nobody" when the tests run as root, so
// the server runs unprivileged.
func (s *Server) giveAway() error {
	uid, gid, ok := nobody()
	if !ok {
		return nil
	}
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	return filepath.Walk(s.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// nobody returns the ids to run the server as: nobody's when the tests
// run as root.
func nobody() (uid, gid int, ok bool) {
	if os.Getuid() != 0 {
		return 0, 0, false
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, false
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	return uid, gid, err1 == nil && err2 == nil
}

// Start starts the server again after Stop, on the same port with the
// same data, and waits until it serves. It is called by NewServer.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	begin := time.Now()
	cmd, exited, err := s.launch()
	if err != nil {
		return err
	}
	s.cmd, s.exited = cmd, exited
	if err := s.waitServing(begin.Add(startTimeout)); err != nil {
		s.kill()
		return err
	}
	s.started = time.Since(begin)
	return nil
}

// launch runs the JVM: ZooKeeper's standalone main with zoo.cfg, its
// output to zookeeper.log, killed with the test binary (Pdeathsig).
func (s *Server) launch() (*exec.Cmd, chan struct{}, error) {
	log, err := os.OpenFile(filepath.Join(s.dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open the server's log: %w", err)
	}
	defer log.Close()
	cmd := exec.Command("java", javaArgs(filepath.Join(s.dir, "zoo.cfg"))...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "HOME="+s.dir)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid, gid, ok := nobody(); ok {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start java: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return cmd, exited, nil
}

// javaArgs are the JVM's arguments: a small heap and the quick-start
// compiler settings (the server does little), no performance data file.
func javaArgs(cfg string) []string {
	args := []string{
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Djava.net.preferIPv4Stack=true", "-Dzookeeper.admin.enableServer=false",
		"-cp", classpath(), mainClass, cfg,
	}
	return args
}

// classpath is the jar, plus slf4j's simple logger when present so the
// server's log says something.
func classpath() string {
	cp := Jar
	if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
		cp += ":/usr/share/java/slf4j-simple.jar"
	}
	return cp
}

// waitServing polls the srvr command until the server says it serves, the
// process exits or the deadline passes.
func (s *Server) waitServing(deadline time.Time) error {
	delay := 20 * time.Millisecond
	for {
		if s.serving() {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("ZooKeeper exited while starting: %s", s.logTail())
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ZooKeeper did not serve on %s within %v: %s", s.addr, startTimeout, s.logTail())
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// serving asks the four-letter command srvr, which answers "Zookeeper
// version: ..." once the server serves requests.
func (s *Server) serving() bool {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "Zookeeper version:")
}

// logTail returns the end of the server's log, for errors.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "zookeeper.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop kills the server, as a crash would; its data stays for Start.
// Clients see their connections break. It is a no-op when stopped.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kill()
	return nil
}

// kill kills the JVM and waits for it. s.mu is held.
func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// Client returns a session with the server for a test that writes znodes
// the way no master would (garbage, ACLs of its own), with digest
// credentials ("user:password") when creds is set. It is closed when the
// test ends.
func (s *Server) Client(t testing.TB, creds string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{s.addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(startTimeout)
	for conn.State() != zk.StateHasSession {
		select {
		case <-events:
		case <-deadline:
			t.Fatalf("no ZooKeeper session with %s within %v", s.addr, startTimeout)
		}
	}
	go func() {
		for range events { // until Close
		}
	}()
	if creds != "" {
		if err := conn.AddAuth("digest", []byte(creds)); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// quiet drops the client library's log.
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// Close stops the server and removes its directory when NewServer made it.
func (s *Server) Close() error {
	s.Stop()
	if s.own {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("remove the server's directory: %w", err)
		}
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Shared is one server shared by a test package's tests, started by the
// first test that asks for it. The zero value is ready to use.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it on the first call. It
// skips the test when ZooKeeper is not installed (fails it when CI=true).
func (sh *Shared) Server(t testing.TB) *Server {
	t.Helper()
	sh.once.Do(func() { sh.srv, sh.err = NewServer(Options{}) })
	if sh.err != nil {
		Skip(t, sh.err)
	}
	return sh.srv
}

// Setup fits testsupport.Main's setup: nothing to start (the first test
// that asks starts the server), and a teardown that closes the server,
// printing what went wrong.
func (sh *Shared) Setup() (teardown func(), err error) {
	return func() {
		if err := sh.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}, nil
}

// Close stops the shared server if it was started; call it from TestMain
// after m.Run.
func (sh *Shared) Close() error {
	sh.once.Do(func() {}) // no server starts after Close
	if sh.srv == nil {
		return nil
	}
	return sh.srv.Close()
}

// paths numbers Path's results, so a test run again (-count) in the same
// process gets a fresh path.
var paths atomic.Int64

// Path returns a znode path of the test's own: "/test/", the test's name
// made safe, and a number. Tests sharing a server use it.
func Path(t testing.TB) string {
	t.Helper()
	r := strings.NewReplacer("/", "-", " ", "_", "#", "_")
	return fmt.Sprintf("/test/%s-%d", r.Replace(t.Name()), paths.Add(1))
}
