package sim

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Master is a simulated Mesos master: the libprocess process "master" on
// its own port. The leader answers the cluster's state; a standby answers
// its endpoints with 307 and a protocol-relative Location to the leader
// ("//hostname:port/master/state"), or 503 when no leader is elected.
//
// Endpoints: /master/state, /master/state-summary, /master/slaves,
// /master/frameworks, /master/roles, /master/flags, /master/health,
// /master/redirect, /master/maintenance/schedule, /master/maintenance/status,
// /api/v1 (SUBSCRIBE and a few GET_* calls, JSON), /metrics/snapshot,
// /version, /files/* (the master's log at /master/log), the ".json"
// names older releases have (/master/state.json, /master/roles.json), and
// the WebUI at "/" and the paths its release's master serves it at
// (package webui: /static/... up to Mesos 1.5, /app/... and /assets/...
// from 1.6). A path whose first segment names no
// process goes to the master, as in libprocess ("/state" is
// "/master/state", "/api/v1" is "/master/api/v1"). JSON endpoints take
// ?jsonp=.
type Master struct {
	*Member
	c       *Cluster
	id      string
	index   int
	started time.Time
	workDir string
	logDir  string
	files   *fileSystem
	routes  []leaderRoute

	logOnce sync.Once
	logErr  error
}

func newMaster(c *Cluster, i int) (*Master, error) {
	m := &Master{c: c, id: newUUID(), index: i, started: time.Now()}
	home := filepath.Join(c.dir, "masters", strconv.Itoa(i))
	m.workDir, m.logDir = filepath.Join(home, "work"), filepath.Join(home, "log")
	for _, d := range []string{m.workDir, m.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create master directory: %w", err)
		}
	}
	m.routes = m.leaderRoutes()
	m.Member = newMember(c, RoleMaster, http.HandlerFunc(m.serveHTTP))
	if c.zk != nil {
		m.Member.onChange = m.syncGroup
	}
	m.files = newFileSystem(c, RealmMasterReadOnly, m.prepareLog)
	return m, nil
}

// prepareLog writes the master's log and attaches it as /master/log (the
// log viewer on the WebUI's home page reads it).
func (m *Master) prepareLog() error {
	m.logOnce.Do(func() { m.logErr = m.writeLog() })
	return m.logErr
}

func (m *Master) writeLog() error {
	logFile := filepath.Join(m.logDir, "mesos-master.INFO")
	t := m.started.UTC()
	line := func(d time.Duration, file, msg string) string {
		return fmt.Sprintf("I%s %6d %s] %s\n", t.Add(d).Format("0102 15:04:05.000000"), 900+m.index, file, msg)
	}
	log := line(0, "main.cpp:240", "Build: "+buildTime.Format("2006-01-02 15:04:05")+" by "+buildUser)
	log += line(0, "main.cpp:241", "Version: "+mesosVersion)
	log += line(5*time.Millisecond, "master.cpp:416", "Master "+m.id+" ("+m.hostname+") started on "+m.Addr())
	log += line(9*time.Millisecond, "master.cpp:419", "Flags at startup: --work_dir=\""+m.workDir+"\" --log_dir=\""+m.logDir+"\"")
	log += line(800*time.Millisecond, "master.cpp:2117", "Elected as the leading master!")
	if err := os.WriteFile(logFile, []byte(log), 0o644); err != nil {
		return fmt.Errorf("write master log: %w", err)
	}
	return m.files.attach(logFile, "/master/log")
}

// ID returns the master's id (MasterInfo.id, a UUID).
func (m *Master) ID() string { return m.id }

// PID returns the master's libprocess pid, "master@127.0.0.1:port".
func (m *Master) PID() string { return "master@" + m.Addr() }

// Leading reports whether m is the leader.
func (m *Master) Leading() bool { return m.c.Leader() == m }

// serveHTTP routes the master's endpoints.
func (m *Master) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := delegate(r.URL.Path, masterProcesses, "master")
	if m.serveWebUI(w, r, p) {
		return
	}
	switch {
	case under(p, "/version"):
		writeJSON(w, r, versionInfo())
	case under(p, "/master/health"):
		w.WriteHeader(http.StatusOK)
	case under(p, "/master/redirect"):
		m.redirect(w, r, p)
	case under(p, "/metrics/snapshot"):
		if m.c.authorized(w, r, RealmMasterReadOnly) {
			writeJSON(w, r, m.metrics())
		}
	case strings.HasPrefix(p, "/files/"):
		m.files.serve(w, r, strings.Trim(strings.TrimPrefix(p, "/files/"), "/"))
	case under(p, "/master/flags"):
		if m.c.authorized(w, r, RealmMasterReadOnly) {
			writeJSON(w, r, map[string]any{"flags": m.flags()})
		}
	default:
		m.leaderEndpoint(w, r, p)
	}
}

// leaderRoute is an endpoint only the leader answers; standbys redirect.
type leaderRoute struct {
	route, realm string
	serve        func(http.ResponseWriter, *http.Request)
}

// leaderRoutes lists the leader's endpoints, longest route first so the
// first match is libprocess's longest prefix.
func (m *Master) leaderRoutes() []leaderRoute {
	jsonOf := func(f func() any) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, r, f()) }
	}
	return []leaderRoute{
		{"/master/maintenance/schedule", RealmMasterReadWrite, m.maintenance},
		{"/master/maintenance/status", RealmMasterReadOnly, jsonOf(func() any { return struct{}{} })},
		{"/master/state-summary", RealmMasterReadOnly, jsonOf(func() any { return m.stateSummary() })},
		{"/master/frameworks", RealmMasterReadOnly, jsonOf(func() any { return m.frameworks() })},
		{"/master/api/v1", RealmMasterReadWrite, m.api},
		{"/master/slaves", RealmMasterReadOnly, jsonOf(func() any { return m.slaves() })},
		{"/master/state", RealmMasterReadOnly, jsonOf(func() any { return m.state() })},
		{"/master/roles", RealmMasterReadOnly, jsonOf(func() any { return m.roles() })},
		// The names of Mesos 0.23 to 1.10, which the WebUI of 0.23 and
		// 0.24 reads ($http.get('master/state.json')).
		{"/master/state.json", RealmMasterReadOnly, jsonOf(func() any { return m.state() })},
		{"/master/roles.json", RealmMasterReadOnly, jsonOf(func() any { return m.roles() })},
	}
}

// leaderEndpoint serves the endpoints only the leader answers: after
// authentication, a standby redirects to the leader (Mesos 1.0 and later),
// or, in a cluster serving the WebUI of Mesos 0.23 to 0.28, answers with
// its own view (see Cluster.answeringStandbys).
func (m *Master) leaderEndpoint(w http.ResponseWriter, r *http.Request, p string) {
	for _, rt := range m.routes {
		if !under(p, rt.route) {
			continue
		}
		if !m.c.authorized(w, r, rt.realm) {
			return
		}
		if !m.Leading() && !(m.c.answeringStandbys && rt.route != "/master/api/v1") {
			m.redirect(w, r, p)
			return
		}
		rt.serve(w, r)
		return
	}
	notFound(w)
}

// redirect answers as Master::Http::redirect: 503 without a leader, else a
// 307 to "//leader-hostname:port" followed by the request's path and query
// (the delegated path: "/state" asked of a standby leads to
// "/master/state"), or to the bare leader for /master/redirect itself.
// The Location is protocol-relative, so a client keeps its scheme.
func (m *Master) redirect(w http.ResponseWriter, r *http.Request, p string) {
	leader := m.c.Leader()
	if leader == nil {
		text(w, http.StatusServiceUnavailable, "No leader elected")
		return
	}
	base := "//" + leader.HostPort()
	switch {
	case p == "/master/redirect" || p == "/master/redirect/":
		w.Header().Set("Location", base)
	case strings.HasPrefix(p, "/master/redirect/"):
		notFound(w) // prevents a redirection loop
		return
	default:
		target := p
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", base+target)
	}
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// maintenance answers GET /master/maintenance/schedule: no windows.
func (m *Master) maintenance(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		text(w, http.StatusMethodNotAllowed, "the simulated master keeps an empty maintenance schedule")
		return
	}
	writeJSON(w, r, struct{}{})
}

func (m *Master) flags() map[string]string {
	auth := strconv.FormatBool(m.c.opts.Auth != nil)
	webui := m.c.opts.WebUIDir
	if webui == "" {
		webui = "(embedded)"
	}
	f := map[string]string{
		"hostname":                    m.hostname,
		"ip":                          "127.0.0.1",
		"port":                        strconv.Itoa(m.Port()),
		"work_dir":                    m.workDir,
		"log_dir":                     m.logDir,
		"logging_level":               "INFO",
		"webui_dir":                   webui,
		"quorum":                      strconv.Itoa(len(m.c.Masters())/2 + 1),
		"authenticate_http_readonly":  auth,
		"authenticate_http_readwrite": auth,
	}
	if m.c.opts.Name != "" {
		f["cluster"] = m.c.opts.Name
	}
	return f
}
