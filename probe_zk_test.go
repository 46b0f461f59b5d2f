package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// TestCommandsThroughZooKeeper: probe and certs find the masters in their
// ZooKeeper group, named as Mesos names it (zk://, or file:/// holding
// it): every master with its id and hostname, standbys included, so the
// shared certificate names them all without a note. A ZooKeeper nobody
// answers on is one line naming --master, and exit 2.
func TestCommandsThroughZooKeeper(t *testing.T) {
	srv := zkServer.Server(t)
	zk := srv.URL(zktest.Path(t))
	sc, err := sim.Start(sim.Options{Masters: 3, Modes: []sim.Mode{sim.Plain}, ZK: zk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	file := filepath.Join(t.TempDir(), "zk")
	if err := os.WriteFile(file, []byte(zk+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runMain(t, nil, "probe", "--master", "file://"+file, "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("probe: exit %d, stderr %q", code, errOut)
	}
	var report struct {
		Members []struct{ Role, ID, Address, Hostname, Speaks string } `json:"members"`
		ZK      *struct{ URL, Error string }                           `json:"zookeeper"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("probe: not JSON: %v\n%s", err, out)
	}
	if len(report.Members) != 4 || report.ZK == nil || report.ZK.URL != zk || report.ZK.Error != "" {
		t.Fatalf("probe: %+v", report)
	}
	for i, m := range sc.Masters() {
		got, role := report.Members[i], "standby"
		if i == 0 {
			role = "leader"
		}
		if got.Role != role || got.ID != m.ID() || got.Address != m.Addr() || got.Hostname != "localhost" || got.Speaks != "plain-only" {
			t.Errorf("master %d: %+v", i, got)
		}
	}

	dir := filepath.Join(t.TempDir(), "certs")
	code, out, errOut = runMain(t, nil, "certs", "--master", zk, "--out", dir)
	if code != 0 || errOut != "" || !strings.Contains(out, "Found 3 masters and 1 agent") {
		t.Fatalf("certs: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cert := testsupport.ReadCert(t, filepath.Join(dir, "cert.pem"))
	if strings.Join(cert.DNSNames, ",") != "localhost" || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
	}

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := refused.Addr().String()
	refused.Close()
	code, _, errOut = runMain(t, nil, "probe", "--master", "zk://"+dead+"/mesos", "--probe-timeout", "300ms")
	if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "ZooKeeper unreachable") || !strings.Contains(errOut, "check --master") {
		t.Errorf("probe with ZooKeeper down: exit %d, stderr %q", code, errOut)
	}
}
