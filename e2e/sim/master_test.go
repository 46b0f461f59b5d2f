package sim

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStandbyRedirects checks a standby's answers on the wire (curl shows
// the raw Location header): 307 with a protocol-relative Location to the
// leader for the leader's endpoints, /master/redirect to the bare leader,
// and 503 once no leader is elected.
func TestStandbyRedirects(t *testing.T) {
	c := start(t, Options{Masters: 3, Frameworks: []FrameworkSpec{}})
	leader, standby := c.Masters()[0], c.Masters()[1]
	leaderBase := "//localhost:" + strconv.Itoa(leader.Port())

	tests := []struct {
		name, path, location string
	}{
		{"state", "/master/state", leaderBase + "/master/state"},
		{"state_with_query", "/master/state?jsonp=cb&x=1", leaderBase + "/master/state?jsonp=cb&x=1"},
		{"delegated_path", "/state-summary", leaderBase + "/master/state-summary"},
		{"roles", "/master/roles", leaderBase + "/master/roles"},
		{"redirect", "/master/redirect", leaderBase},
		{"bare_redirect", "/redirect", leaderBase},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := curl(t, "--dump-header", "-", "--output", "/dev/null", standby.URL()+tc.path)
			if !strings.HasPrefix(headers, "HTTP/1.1 307") {
				t.Fatalf("status line: got %q, want 307", firstLine(headers))
			}
			if got := headerValue(headers, "Location"); got != tc.location {
				t.Errorf("Location: got %q, want %q", got, tc.location)
			}
		})
	}

	t.Run("leader_redirects_to_itself", func(t *testing.T) {
		r := get(t, leader.URL()+"/master/redirect")
		if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != leaderBase {
			t.Errorf("got %d Location %q, want 307 %q", r.status, r.header.Get("Location"), leaderBase)
		}
	})
	t.Run("redirect_subpath_is_404", func(t *testing.T) {
		if r := get(t, standby.URL()+"/master/redirect/master/state"); r.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.status)
		}
	})
	t.Run("standby_serves_its_own_health_and_metrics", func(t *testing.T) {
		if r := get(t, standby.URL()+"/master/health"); r.status != http.StatusOK {
			t.Errorf("health: status %d", r.status)
		}
		var m map[string]float64
		getJSON(t, standby.URL()+"/metrics/snapshot", &m)
		if m["master/elected"] != 0 {
			t.Errorf("standby's master/elected = %v, want 0", m["master/elected"])
		}
	})
	t.Run("curl_follows_to_the_leader", func(t *testing.T) {
		body := curl(t, "--location", standby.URL()+"/master/state-summary")
		var s stateSummaryJSON
		if err := json.Unmarshal([]byte(body), &s); err != nil || s.Hostname != "localhost" {
			t.Errorf("following the redirect got %q (%v)", truncate([]byte(body)), err)
		}
	})

	t.Run("no_leader", func(t *testing.T) {
		c.SetLeader(nil)
		t.Cleanup(func() { c.SetLeader(leader) })
		for _, p := range []string{"/master/state", "/master/redirect"} {
			for _, m := range c.Masters() {
				r := get(t, m.URL()+p)
				if r.status != http.StatusServiceUnavailable || string(r.body) != "No leader elected" {
					t.Errorf("%s on %s: got %d %q, want 503 No leader elected", p, m.Addr(), r.status, r.body)
				}
			}
		}
	})
}

// TestLeaderChange moves leadership: the old leader turns standby and
// redirects to the new one, whose state names itself in leader_info.
func TestLeaderChange(t *testing.T) {
	c := start(t, Options{Masters: 3, Agents: 1})
	old, next := c.Masters()[0], c.Masters()[2]
	c.SetLeader(next)
	if c.Leader() != next || !next.Leading() || old.Leading() {
		t.Fatalf("Leader() = %v after SetLeader(%s)", c.Leader().Addr(), next.Addr())
	}
	r := get(t, old.URL()+"/master/state")
	if want := "//localhost:" + strconv.Itoa(next.Port()) + "/master/state"; r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != want {
		t.Errorf("old leader: got %d %q, want 307 %q", r.status, r.header.Get("Location"), want)
	}
	var s masterStateJSON
	getJSON(t, next.URL()+"/master/state", &s)
	if s.LeaderInfo == nil || s.LeaderInfo.ID != next.ID() || s.LeaderInfo.Port != next.Port() || s.ID != next.ID() {
		t.Errorf("new leader's state: leader_info %+v, id %s; want the new leader %s", s.LeaderInfo, s.ID, next.ID())
	}
	if len(s.Slaves) != 1 || s.ElectedTime == 0 {
		t.Errorf("new leader's state: %d slaves, elected_time %v", len(s.Slaves), s.ElectedTime)
	}
}

// TestMasterState checks the fields a gateway and the WebUI read.
func TestMasterState(t *testing.T) {
	c := start(t, Options{Masters: 2, Agents: 3, Name: "testcluster"})
	leader := c.Leader()
	var s struct {
		masterStateJSON
		Slaves     []map[string]any `json:"slaves"`
		Frameworks []map[string]any `json:"frameworks"`
	}
	getJSON(t, leader.URL()+"/master/state", &s)

	if li := s.LeaderInfo; li == nil || li.ID != leader.ID() || li.PID != leader.PID() || li.Hostname != "localhost" || li.Port != leader.Port() {
		t.Errorf("leader_info = %+v, want the leader %s %s", s.LeaderInfo, leader.ID(), leader.PID())
	}
	if s.Leader != leader.PID() || s.Cluster != "testcluster" || s.Version == "" || s.Flags["log_dir"] == "" {
		t.Errorf("leader %q, cluster %q, version %q, flags.log_dir %q", s.Leader, s.Cluster, s.Version, s.Flags["log_dir"])
	}
	if len(s.Slaves) != 3 || s.ActivatedSlaves != 3 {
		t.Fatalf("%d slaves (%v activated), want 3", len(s.Slaves), s.ActivatedSlaves)
	}
	pid := regexp.MustCompile(`^slave\(1\)@127\.0\.0\.1:(\d+)$`)
	for i, a := range c.Agents() {
		sl := s.Slaves[i]
		m := pid.FindStringSubmatch(sl["pid"].(string))
		if m == nil || m[1] != strconv.Itoa(a.Port()) || sl["id"] != a.ID() || sl["hostname"] != "localhost" {
			t.Errorf("slave %d: id %v pid %v hostname %v; want %s %s", i, sl["id"], sl["pid"], sl["hostname"], a.ID(), a.PID())
		}
		for _, field := range []string{"resources", "used_resources", "offered_resources", "reserved_resources", "unreserved_resources", "registered_time", "active", "version", "capabilities"} {
			if _, ok := sl[field]; !ok {
				t.Errorf("slave %d has no %q", i, field)
			}
		}
	}
	want := map[string]string{}
	for _, f := range c.Frameworks() {
		want[f.ID()] = f.WebUIURL()
	}
	if len(s.Frameworks) != 4 {
		t.Fatalf("%d frameworks, want the 4 defaults", len(s.Frameworks))
	}
	for _, f := range s.Frameworks {
		id, url := f["id"].(string), f["webui_url"].(string)
		if url != want[id] {
			t.Errorf("framework %v: webui_url %q, want %q", f["name"], url, want[id])
		}
		switch f["name"] {
		case "marathon":
			if !regexp.MustCompile(`^http://localhost:\d+$`).MatchString(url) {
				t.Errorf("marathon webui_url %q, want http://localhost:port", url)
			}
		case "jenkins":
			if !regexp.MustCompile(`^http://localhost:\d+/jenkins/$`).MatchString(url) {
				t.Errorf("jenkins webui_url %q, want http://localhost:port/jenkins/", url)
			}
		case "batch":
			if url != "" {
				t.Errorf("batch webui_url %q, want empty", url)
			}
		}
		tasks := f["tasks"].([]any)
		completed := f["completed_tasks"].([]any)
		if len(tasks)+len(completed) == 0 {
			t.Errorf("framework %v has no tasks", f["name"])
		}
		for _, task := range tasks {
			st := task.(map[string]any)["statuses"].([]any)
			if len(st) == 0 || task.(map[string]any)["state"] != "TASK_RUNNING" {
				t.Errorf("task %v: state %v, %d statuses", task.(map[string]any)["id"], task.(map[string]any)["state"], len(st))
			}
		}
	}
	var raw map[string]json.RawMessage
	getJSON(t, leader.URL()+"/master/state", &raw)
	for _, field := range []string{"completed_frameworks", "recovered_slaves", "orphan_tasks", "unregistered_frameworks", "start_time", "elected_time", "build_time", "build_user"} {
		if v, ok := raw[field]; !ok || string(v) == "null" {
			t.Errorf("state has no %q (got %s)", field, v)
		}
	}
}

// TestStateSummary checks /master/state-summary's per-agent and
// per-framework counts and cross references.
func TestStateSummary(t *testing.T) {
	c := start(t, Options{Agents: 4})
	var s stateSummaryJSON
	getJSON(t, c.Leader().URL()+"/master/state-summary", &s)
	if s.Hostname != "localhost" || len(s.Slaves) != 4 || len(s.Frameworks) != 4 {
		t.Fatalf("hostname %q, %d slaves, %d frameworks; want localhost, 4, 4", s.Hostname, len(s.Slaves), len(s.Frameworks))
	}
	running := 0
	for _, sl := range s.Slaves {
		running += sl.Running
		if len(sl.FrameworkIDs) == 0 || sl.PID != "slave(1)@127.0.0.1:"+strconv.Itoa(sl.Port) {
			t.Errorf("slave %s: framework_ids %v, pid %s", sl.ID, sl.FrameworkIDs, sl.PID)
		}
	}
	if running != 4 {
		t.Errorf("TASK_RUNNING over slaves = %d, want 4 (one per agent)", running)
	}
	for _, f := range s.Frameworks {
		if f.Finished != 1 || len(f.SlaveIDs) == 0 {
			t.Errorf("framework %s: TASK_FINISHED %d, slave_ids %v", f.Name, f.Finished, f.SlaveIDs)
		}
	}
}

// TestMasterEndpoints checks the smaller endpoints' shapes.
func TestMasterEndpoints(t *testing.T) {
	c := start(t, Options{Agents: 2})
	l := c.Leader().URL()
	var roles struct {
		Roles []roleJSON `json:"roles"`
	}
	getJSON(t, l+"/master/roles", &roles)
	if len(roles.Roles) != 1 || roles.Roles[0].Name != "*" || len(roles.Roles[0].Frameworks) != 4 || roles.Roles[0].Allocated["cpus"] == 0 {
		t.Errorf("roles = %+v", roles)
	}
	var schedule map[string]any
	getJSON(t, l+"/master/maintenance/schedule", &schedule)
	var version versionJSON
	getJSON(t, l+"/version", &version)
	if version.Version != mesosVersion || version.BuildUser == "" {
		t.Errorf("version = %+v", version)
	}
	var metrics map[string]float64
	getJSON(t, l+"/metrics/snapshot", &metrics)
	if metrics["master/elected"] != 1 || metrics["master/tasks_running"] != 2 || metrics["master/tasks_finished"] != 4 || metrics["master/slaves_active"] != 2 {
		t.Errorf("metrics: elected %v, tasks_running %v, tasks_finished %v, slaves_active %v",
			metrics["master/elected"], metrics["master/tasks_running"], metrics["master/tasks_finished"], metrics["master/slaves_active"])
	}
	if r := get(t, l+"/master/health"); r.status != http.StatusOK {
		t.Errorf("health: %d", r.status)
	}
	if r := get(t, l+"/master/nonexistent"); r.status != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d, want 404", r.status)
	}
	r := get(t, l+"/")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "app/app.js") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("WebUI index: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r := get(t, l+"/app/shared/pailer.html"); r.status != http.StatusOK {
		t.Errorf("pailer.html: %d", r.status)
	}
}

// TestWebUILayouts serves a WebUI of each layout from Options.WebUIDir at
// the paths its release's master serves it: Mesos 0.28's master/static at
// "/" and "/static/...", 1.11's app and assets at "/", "/app/..." and
// "/assets/...", on the leader and a standby alike, and also under the
// master process ("/master/static/..."), as libprocess routes them.
func TestWebUILayouts(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name    string
		files   map[string]string
		serve   map[string]string // path -> body start
		missing []string
	}{
		{"static_0.28", map[string]string{
			"master/static/index.html": "<title>0.28</title>", "master/static/js/app.js": "app", "master/static/home.html": "home",
		}, map[string]string{
			"/": "<title>0.28</title>", "/static/js/app.js": "app", "/static/home.html": "home", "/master/static/js/app.js": "app", "/master/": "<title>0.28</title>",
		}, []string{"/app/app.js", "/index.html", "/static/", "/static/js", "/static/../master/static/js/app.js"}},
		{"app_1.11", map[string]string{
			"index.html": "<title>1.11</title>", "app/app.js": "app", "app/shared/pailer.html": "pailer", "assets/css/mesos.css": "css",
		}, map[string]string{
			"/": "<title>1.11</title>", "/app/app.js": "app", "/app/shared/pailer.html": "pailer", "/assets/css/mesos.css": "css", "/master/app/app.js": "app",
		}, []string{"/static/js/app.js", "/index.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, Options{Masters: 2, WebUIDir: write(t, tc.files)})
			for _, m := range c.Masters() {
				for p, want := range tc.serve {
					if r := get(t, m.URL()+p); r.status != 200 || !strings.HasPrefix(string(r.body), want) {
						t.Errorf("%s%s: %d %q, want 200 %q", m.URL(), p, r.status, truncate(r.body), want)
					}
				}
				for _, p := range tc.missing {
					if r := get(t, m.URL()+p); r.status != 404 {
						t.Errorf("%s%s: %d, want 404", m.URL(), p, r.status)
					}
				}
			}
		})
	}
	t.Run("not_a_webui", func(t *testing.T) {
		dir := write(t, map[string]string{"index.html": "x"})
		_, err := Start(Options{WebUIDir: dir, PKI: testPKI})
		want := "neither app/ and index.html (Mesos 1.6 and later) nor master/static/index.html (Mesos 0.23 to 1.5) under " + dir
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Start: %v, want an error saying %q", err, want)
		}
	})
}

// TestStandbyBeforeMesos1 serves the WebUI of Mesos 0.28 (master/static
// with slaves.html): its standbys answer /master/state themselves, as
// masters before 1.0 did, with no agents and leader_info naming the
// leader, so that the WebUI says "not the leader" and moves to
// /master/redirect; the operator API still redirects.
func TestStandbyBeforeMesos1(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"index.html", "slaves.html", "js/app.js"} {
		p := filepath.Join(dir, "master", "static", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := start(t, Options{Masters: 2, Agents: 2, WebUIDir: dir})
	leader, standby := c.Leader(), c.Masters()[1]
	for _, path := range []string{"/master/state", "/master/state.json", "/state"} {
		var s masterStateJSON
		getJSON(t, standby.URL()+path, &s) // no redirect: 200
		if s.PID != standby.PID() || s.Leader != leader.PID() || s.LeaderInfo == nil || s.LeaderInfo.Port != leader.Port() || len(s.Slaves) != 0 || len(s.Frameworks) != 0 {
			t.Errorf("%s of the standby: pid %s, leader %s, %d slaves, %d frameworks", path, s.PID, s.Leader, len(s.Slaves), len(s.Frameworks))
		}
	}
	var s masterStateJSON
	getJSON(t, leader.URL()+"/master/state", &s)
	if s.PID != leader.PID() || len(s.Slaves) != 2 {
		t.Errorf("the leader's state: pid %s, %d slaves", s.PID, len(s.Slaves))
	}
	if r := get(t, standby.URL()+"/master/redirect"); r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "//"+leader.HostPort() {
		t.Errorf("/master/redirect of the standby: %d %s", r.status, r.header.Get("Location"))
	}
}

// TestJSONP checks JSONP wherever Mesos has it: cb(<json>) as
// text/javascript with ?jsonp=cb, plain JSON without.
func TestJSONP(t *testing.T) {
	c := start(t, Options{Agents: 1})
	leader, agent := c.Leader(), c.Agents()[0]
	sb, err := agent.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
	}{
		{"master_state", leader.URL() + "/master/state"},
		{"master_state_summary", leader.URL() + "/master/state-summary"},
		{"master_roles", leader.URL() + "/master/roles"},
		{"master_maintenance", leader.URL() + "/master/maintenance/schedule"},
		{"master_metrics", leader.URL() + "/metrics/snapshot"},
		{"master_version", leader.URL() + "/version"},
		{"master_log_read", leader.URL() + "/files/read?path=/master/log&offset=0"},
		{"agent_state", agent.URL() + "/slave(1)/state"},
		{"agent_statistics", agent.URL() + "/slave(1)/monitor/statistics"},
		{"agent_metrics", agent.URL() + "/metrics/snapshot"},
		{"agent_version", agent.URL() + "/version"},
		{"files_browse", agent.URL() + "/files/browse?path=" + sb[0].Directory},
		{"files_read", agent.URL() + "/files/read?path=" + sb[0].Directory + "/stdout&offset=0&length=10"},
		// The names the WebUI of Mesos 0.23 and 0.24 reads, and the
		// monitor's own path before Mesos 1.0 (0.28, 1.0).
		{"master_state_json", leader.URL() + "/master/state.json"},
		{"master_roles_json", leader.URL() + "/master/roles.json"},
		{"agent_state_json", agent.URL() + "/slave(1)/state.json"},
		{"agent_statistics_json", agent.URL() + "/monitor/statistics.json"},
		{"agent_statistics_monitor", agent.URL() + "/monitor/statistics"},
		{"files_browse_json", agent.URL() + "/files/browse.json?path=" + sb[0].Directory},
		{"files_read_json", agent.URL() + "/files/read.json?path=" + sb[0].Directory + "/stdout&offset=0&length=10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sep := "?"
			if strings.Contains(tc.url, "?") {
				sep = "&"
			}
			plain := get(t, tc.url)
			wrapped := get(t, tc.url+sep+"jsonp=angular.callbacks._0")
			if plain.status != 200 || plain.header.Get("Content-Type") != "application/json" || !json.Valid(plain.body) {
				t.Fatalf("without jsonp: %d %s %q", plain.status, plain.header.Get("Content-Type"), truncate(plain.body))
			}
			if wrapped.status != 200 || wrapped.header.Get("Content-Type") != "text/javascript" {
				t.Fatalf("with jsonp: %d %s", wrapped.status, wrapped.header.Get("Content-Type"))
			}
			body := string(wrapped.body)
			inner, ok := strings.CutPrefix(body, "angular.callbacks._0(")
			inner, ok2 := strings.CutSuffix(inner, ")")
			if !ok || !ok2 || !json.Valid([]byte(inner)) {
				t.Errorf("with jsonp: body %q is not angular.callbacks._0(<json>)", truncate(wrapped.body))
			}
			if wrapped.header.Get("Content-Length") != strconv.Itoa(len(wrapped.body)) {
				t.Errorf("Content-Length %s for a %d-byte body", wrapped.header.Get("Content-Length"), len(wrapped.body))
			}
		})
	}
}

// TestAuth checks basic authentication with Mesos's realms.
func TestAuth(t *testing.T) {
	c := start(t, Options{Agents: 1, Auth: &Credentials{Principal: "ops", Secret: "s3cret"}})
	leader, agent := c.Leader(), c.Agents()[0]
	tests := []struct {
		name, method, url, realm string
	}{
		{"master_state", "GET", leader.URL() + "/master/state", RealmMasterReadOnly},
		{"master_metrics", "GET", leader.URL() + "/metrics/snapshot", RealmMasterReadOnly},
		{"master_files", "GET", leader.URL() + "/files/read?path=/master/log", RealmMasterReadOnly},
		{"operator_api", "POST", leader.URL() + "/api/v1", RealmMasterReadWrite},
		{"maintenance", "GET", leader.URL() + "/master/maintenance/schedule", RealmMasterReadWrite},
		{"agent_state", "GET", agent.URL() + "/slave(1)/state", RealmAgentReadOnly},
		{"agent_files", "GET", agent.URL() + "/files/browse?path=/slave/log", RealmAgentReadOnly},
		{"agent_metrics", "GET", agent.URL() + "/metrics/snapshot", RealmAgentReadOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, creds := range []struct {
				user, pass string
				want       int
			}{{"", "", 401}, {"ops", "wrong", 401}, {"ops", "s3cret", 0}} {
				req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(`{"type":"GET_HEALTH"}`))
				req.Header.Set("Content-Type", "application/json")
				if creds.user != "" {
					req.SetBasicAuth(creds.user, creds.pass)
				}
				resp, err := client(t).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if creds.want == 401 {
					if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="`+tc.realm+`"` {
						t.Errorf("%q: got %d %q, want 401 realm %s", creds.user, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.realm)
					}
				} else if resp.StatusCode != 200 {
					t.Errorf("with credentials: %d", resp.StatusCode)
				}
			}
		})
	}
	for _, open := range []string{"/master/health", "/version", "/", "/app/app.js"} {
		if r := get(t, leader.URL()+open); r.status != 200 {
			t.Errorf("%s without credentials: %d, want 200 (Mesos does not authenticate it)", open, r.status)
		}
	}
	if r := get(t, c.Masters()[0].URL()+"/master/redirect"); r.status != 307 {
		t.Errorf("/master/redirect without credentials: %d, want 307", r.status)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// headerValue returns a header's value from a raw header dump.
func headerValue(dump, name string) string {
	for _, line := range strings.Split(dump, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
