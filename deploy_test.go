package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/server"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// The deployment files in deploy/ are what operators copy: every flag,
// variable and path they use must be one the gateway knows, with values
// it accepts, as the README installs them.

// marathonApp is the part of a Marathon app definition the tests read.
type marathonApp struct {
	Instances       int               `json:"instances"`
	Cmd             string            `json:"cmd"`
	Env             map[string]string `json:"env"`
	Fetch           []struct{ URI string }
	Networks        []struct{ Mode string }
	PortDefinitions []struct {
		Port     int    `json:"port"`
		Name     string `json:"name"`
		Protocol string `json:"protocol"`
	} `json:"portDefinitions"`
	RequirePorts bool       `json:"requirePorts"`
	Constraints  [][]string `json:"constraints"`
	HealthChecks []struct {
		Protocol  string `json:"protocol"`
		Path      string `json:"path"`
		PortIndex int    `json:"portIndex"`
	} `json:"healthChecks"`
	ReadinessChecks []struct {
		Protocol                string `json:"protocol"`
		Path                    string `json:"path"`
		PortName                string `json:"portName"`
		HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	} `json:"readinessChecks"`
}

// TestDeployMarathon: deploy/marathon.json runs several instances, one per
// agent, on the agents' network and a fixed port, checked over HTTPS on
// the gateway's own health and readiness paths, with a command line and
// environment that `mesosgate serve` accepts as they are: the masters from
// ZooKeeper, the certificates shared there.
func TestDeployMarathon(t *testing.T) {
	b, err := os.ReadFile("deploy/marathon.json")
	if err != nil {
		t.Fatal(err)
	}
	var app marathonApp
	if err := json.Unmarshal(b, &app); err != nil {
		t.Fatalf("deploy/marathon.json: %v", err)
	}
	if app.Instances < 2 || len(app.Networks) != 1 || app.Networks[0].Mode != "host" || !app.RequirePorts ||
		len(app.PortDefinitions) != 1 || app.PortDefinitions[0].Port == 0 || app.PortDefinitions[0].Name == "" ||
		!slices.ContainsFunc(app.Constraints, func(c []string) bool { return slices.Equal(c, []string{"hostname", "UNIQUE"}) }) {
		t.Errorf("instances %d, networks %+v, ports %+v (required %v), constraints %q: want several instances on the host's network, a fixed port, one per host",
			app.Instances, app.Networks, app.PortDefinitions, app.RequirePorts, app.Constraints)
	}
	port := app.PortDefinitions[0]
	if len(app.HealthChecks) != 1 || app.HealthChecks[0].Protocol != "MESOS_HTTPS" || app.HealthChecks[0].Path != "/gateway/healthz" || app.HealthChecks[0].PortIndex != 0 {
		t.Errorf("health checks %+v", app.HealthChecks)
	}
	if len(app.ReadinessChecks) != 1 || app.ReadinessChecks[0].Protocol != "HTTPS" || app.ReadinessChecks[0].Path != "/gateway/readyz" ||
		app.ReadinessChecks[0].PortName != port.Name || !slices.Equal(app.ReadinessChecks[0].HTTPStatusCodesForReady, []int{200}) {
		t.Errorf("readiness checks %+v", app.ReadinessChecks)
	}
	if len(app.Fetch) != 1 || !strings.HasSuffix(app.Fetch[0].URI, ".tar.gz") {
		t.Errorf("fetch %+v: want the binary's archive", app.Fetch)
	}

	// Marathon runs cmd in a shell in the task's sandbox, with PORT0 and
	// MESOS_SANDBOX set.
	sandbox := t.TempDir()
	words := shellWords(t, app.Cmd, map[string]string{"PORT0": strconv.Itoa(port.Port), "MESOS_SANDBOX": sandbox})
	if len(words) < 3 || words[0] != "exec" || words[1] != "./mesosgate" || words[2] != "serve" {
		t.Fatalf("cmd %q: want exec ./mesosgate serve ...", app.Cmd)
	}
	var env []string
	for k, v := range app.Env {
		env = append(env, k+"="+v)
	}
	g := loadDeployed(t, words[3:], env)
	if g.Listen != ":"+strconv.Itoa(port.Port) || g.DataDir != filepath.Join(sandbox, "data") || !g.UsesZooKeeper() || !g.SharedStorage() ||
		!g.Storage.HasCredentials() || g.Certificates() != config.CertInternal {
		t.Errorf("the instances' settings: listen %q, data dir %q, masters %v in ZooKeeper %v, storage %v, certificates %s",
			g.Listen, g.DataDir, g.Masters, g.ZooKeeper, g.Storage, g.Certificates())
	}
	checkServedPaths(t, app.HealthChecks[0].Path, app.ReadinessChecks[0].Path)
}

// TestDeploySystemd: deploy/mesosgate.service is a hardened unit systemd
// accepts, running the gateway as its own user on a read-only system with
// its environment file; that file, deploy/mesosgate.env, holds variables
// the gateway knows, the commented examples included, and the unit's
// paths are those the README installs.
func TestDeploySystemd(t *testing.T) {
	unit := readUnit(t, "deploy/mesosgate.service")
	for key, want := range map[string]string{
		"User": "mesosgate", "Group": "mesosgate", "ProtectSystem": "strict", "PrivateTmp": "yes",
		"NoNewPrivileges": "yes", "Restart": "on-failure", "ProtectHome": "yes", "StateDirectory": "mesosgate",
		"EnvironmentFile": "/etc/mesosgate/mesosgate.env", "CapabilityBoundingSet": "",
	} {
		if got, ok := unit[key]; !ok || got[0] != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	cmdline := strings.Fields(unit["ExecStart"][0])
	if len(cmdline) < 2 || cmdline[0] != "/usr/local/bin/mesosgate" || cmdline[1] != "serve" {
		t.Fatalf("ExecStart=%q", unit["ExecStart"])
	}
	active, examples := readEnvFile(t, "deploy/mesosgate.env")
	g := loadDeployed(t, cmdline[2:], active)
	if g.DataDir != "/var/lib/"+unit["StateDirectory"][0] || !g.UsesZooKeeper() || !g.SharedStorage() || g.Certificates() != config.CertInternal {
		t.Errorf("the service's settings: data dir %q (StateDirectory %q), ZooKeeper %v, storage %v, certificates %s",
			g.DataDir, unit["StateDirectory"], g.ZooKeeper, g.Storage, g.Certificates())
	}
	// Each commented example is a variable the gateway knows, with a value
	// it accepts, but for the files this machine does not have.
	for _, ex := range examples {
		_, err := config.Load("serve", cmdline[2:], append(append([]string{}, active...), ex))
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("the example %s: %v", ex, err)
		}
		if err != nil && strings.Contains(err.Error(), "warning:") {
			t.Errorf("the example %s draws warnings: %v", ex, err)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{
		"useradd --system --home-dir /var/lib/mesosgate",
		"install -m 0755 mesosgate " + cmdline[0],
		"install -D -m 0600 deploy/mesosgate.env " + unit["EnvironmentFile"][0],
		"install -m 0644 deploy/mesosgate.service /etc/systemd/system/",
	} {
		if !strings.Contains(string(readme), step) {
			t.Errorf("the README does not install %q", step)
		}
	}
	t.Run("systemd accepts the unit", func(t *testing.T) { verifyUnit(t, "deploy/mesosgate.service") })
}

// loadDeployed loads serve's settings as a deployment gives them, failing
// on an error or on a warning (an unknown variable is one).
func loadDeployed(t *testing.T, args, env []string) *config.Gateway {
	t.Helper()
	g, err := config.Load("serve", args, env)
	if err != nil {
		t.Fatalf("mesosgate serve %q with %q: %v", args, env, err)
	}
	if len(g.Warnings) > 0 {
		t.Errorf("warnings: %q", g.Warnings)
	}
	return g
}

// checkServedPaths: the health and readiness paths are the gateway's own:
// liveness answers 200 at once, readiness 503 before a discovery.
func checkServedPaths(t *testing.T, health, ready string) {
	t.Helper()
	u, _ := zookeeper.ParseURL("zk://127.0.0.1:1/mesos")
	cluster, err := upstream.New(upstream.Config{ZooKeeper: &u})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	gw, err := server.New(server.Options{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{health: http.StatusOK, ready: http.StatusServiceUnavailable} {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
}

// readUnit reads a systemd unit's Key=value lines (comments skipped; a key
// given twice keeps each value).
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "[") {
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// readEnvFile reads a systemd environment file: the assignments, and the
// commented-out ones (examples).
func readEnvFile(t *testing.T, path string) (active, examples []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		name, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), "=")
		if !ok || strings.ContainsAny(name, " \t") {
			continue // prose
		}
		if strings.HasPrefix(line, "#") {
			examples = append(examples, line[1:])
		} else {
			active = append(active, line)
		}
	}
	if len(active) == 0 || len(examples) == 0 {
		t.Fatalf("%s: %d settings, %d examples", path, len(active), len(examples))
	}
	return active, examples
}

// verifyUnit has systemd check the unit (unknown keys, bad values), with
// ExecStart's binary standing for the installed one.
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	analyze := testsupport.Command(t, "systemd-analyze", "systemd")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/mesosgate", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || strings.Contains(string(out), filepath.Base(path)) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// shellWords splits a command as sh does for the forms marathon.json
// uses: words separated by blanks, double quotes, $NAME from vars.
func shellWords(t *testing.T, cmd string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c == '"':
			quoted, inWord = !quoted, true
		case (c == ' ' || c == '\t') && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
			}
			inWord = false
		case c == '$':
			j := i + 1
			for j < len(cmd) && (cmd[j] == '_' || cmd[j] >= 'A' && cmd[j] <= 'Z' || cmd[j] >= '0' && cmd[j] <= '9') {
				j++
			}
			v, ok := vars[cmd[i+1:j]]
			if !ok {
				t.Fatalf("cmd uses $%s, which Marathon does not set", cmd[i+1:j])
			}
			cur.WriteString(v)
			i, inWord = j-1, true
		case c == '\\' || c == '\'' || c == '`':
			t.Fatalf("cmd uses %q, which this test does not read", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("cmd %q: an unclosed quote", cmd)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
