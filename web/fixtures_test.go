package web

import (
	"fmt"
	"time"
)

// The fixtures are a cluster like the acceptance test's: one leader, two
// standbys and five agents, seen at a fixed moment in each phase of the
// migration, with the findings upstream reports for such a cluster.

// fixtureNow is the moment every fixture is seen at.
var fixtureNow = time.Date(2025, 6, 3, 14, 30, 0, 0, time.UTC)

// fixtureMember is one member of the fixture cluster before probing.
type fixtureMember struct {
	role     Role
	id       string
	address  string
	hostname string
	browse   string
}

// fixtureMembers are the eight members, leader first.
func fixtureMembers() []fixtureMember {
	ms := []fixtureMember{
		{RoleLeader, "f3c0a8e1-7d2b-4a51-9c1e-5b0d2e6a7f10", "127.0.0.1:5050", "master-1.mesos.example", "/"},
		{RoleStandby, "0b7e2f44-1c3d-4e8a-8a9b-2f6c1d0e3b21", "127.0.0.2:5050", "master-2.mesos.example", "/gateway/masters/127.0.0.2:5050/"},
		{RoleStandby, "7a1d9c55-6e4f-4b2a-bb3c-9e8d7f6a5b32", "127.0.0.3:5050", "master-3.mesos.example", "/gateway/masters/127.0.0.3:5050/"},
	}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a-S%d", i-1)
		ms = append(ms, fixtureMember{RoleAgent, id, fmt.Sprintf("127.0.1.%d:5051", i), fmt.Sprintf("agent-%d.mesos.example", i), "/agent/" + id + "/"})
	}
	return ms
}

// probed turns a fixture member into a Member speaking s, with the TLS and
// certificate facts that go with it.
func (f fixtureMember) probed(s Speaks) Member {
	m := Member{
		Role:      f.role,
		ID:        f.id,
		Address:   f.address,
		Hostname:  f.hostname,
		Speaks:    s,
		LastProbe: fixtureNow.Add(-7 * time.Second),
		BrowseURL: f.browse,
	}
	if s == SpeaksSSLOnly || s == SpeaksSSLDowngrade {
		m.TLS = &TLS{Version: "TLS 1.2", Cipher: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
		m.Cert = &Cert{
			Subject:  "CN=mesos.example",
			Issuer:   "CN=Example Ops CA,O=Example",
			Names:    []string{"*.mesos.example", "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5"},
			NotAfter: fixtureNow.Add(300 * 24 * time.Hour),
			Verified: true,
		}
	}
	return m
}

// refOf names a member for steps and alerts.
func refOf(m Member) Ref { return Ref{Role: m.Role, ID: m.ID, Address: m.Address} }

// refsOf names the members speaking s.
func refsOf(ms []Member, s Speaks) []Ref {
	var out []Ref
	for _, m := range ms {
		if m.Speaks == s {
			out = append(out, refOf(m))
		}
	}
	return out
}

// downgradeSettings are the environment of the first round of restarts.
func downgradeSettings(downgrade bool) []Setting {
	return []Setting{
		{"LIBPROCESS_SSL_ENABLED", "true"},
		{"LIBPROCESS_SSL_SUPPORT_DOWNGRADE", fmt.Sprint(downgrade)},
		{"LIBPROCESS_SSL_CERT_FILE", "/etc/mesos/ssl/mesos.crt"},
		{"LIBPROCESS_SSL_KEY_FILE", "/etc/mesos/ssl/mesos.key"},
		{"LIBPROCESS_SSL_CA_FILE", "/etc/mesos/ssl/ca.crt"},
	}
}

// fixture returns the cluster in the given phase.
func fixture(ph Phase) Dashboard {
	fms := fixtureMembers()
	d := Dashboard{
		Now:   fixtureNow,
		Phase: ph,
		Staleness: Staleness{
			UpdatedAt: fixtureNow.Add(-4 * time.Second),
			Age:       4 * time.Second,
			SoftLimit: time.Minute,
			HardLimit: 10 * time.Minute,
		},
		Gateway: GatewayCert{
			Subject:  "CN=mesosgate.example",
			Issuer:   "CN=mesosgate internal CA",
			Names:    []string{"mesosgate.example", "127.0.0.1"},
			NotAfter: fixtureNow.Add(6*24*time.Hour + 3*time.Hour),
			Source:   "internal",
		},
		Links:   LinksProxy,
		Version: "v0.1.0",
		Frameworks: []Framework{
			{Name: "marathon", ID: "b1a2c3d4-0000-4000-8000-000000000001-0000", URL: "/service/marathon/", WebUIURL: "http://127.0.2.1:8080"},
			{Name: "chronos", ID: "b1a2c3d4-0000-4000-8000-000000000002-0001", URL: "/service/chronos/", WebUIURL: "http://127.0.2.2:4400/"},
			{Name: "spark-batch", ID: "b1a2c3d4-0000-4000-8000-000000000003-0002"},
		},
	}
	var speaks []Speaks
	switch ph {
	case PhaseNotStarted:
		speaks = []Speaks{SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly, SpeaksPlainOnly}
	case PhaseOne:
		speaks = []Speaks{SpeaksSSLDowngrade, SpeaksSSLDowngrade, SpeaksPlainOnly, SpeaksSSLDowngrade, SpeaksPlainOnly, SpeaksSSLOnly, SpeaksPlainOnly, SpeaksSSLDowngrade}
	case PhaseTwo:
		speaks = []Speaks{SpeaksSSLOnly, SpeaksSSLDowngrade, SpeaksSSLDowngrade, SpeaksSSLOnly, SpeaksSSLDowngrade, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLDowngrade}
	default:
		speaks = []Speaks{SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly, SpeaksSSLOnly}
	}
	for i, f := range fms {
		d.Members = append(d.Members, f.probed(speaks[i]))
	}
	switch ph {
	case PhaseNotStarted:
		d.NextSteps = []Step{{
			Text:     "Restart every member, one at a time and in any order, with SSL enabled and downgrade support on.",
			Members:  refsOf(d.Members, SpeaksPlainOnly),
			Settings: downgradeSettings(true),
		}}
	case PhaseOne:
		early := &d.Members[5]
		early.Warnings = []string{"Speaks ssl-only while 3 members still speak plain-only: they cannot reach it."}
		d.Members[3].Cert.NotAfter = fixtureNow.Add(12 * 24 * time.Hour)
		d.Members[3].Warnings = []string{"Certificate expires in 12 days."}
		d.Members[6].LastProbe = fixtureNow.Add(-31 * time.Second)
		d.Problems = []Alert{{
			Severity: SeverityError,
			Text:     "An agent speaks ssl-only while 3 members still speak plain-only: those members cannot reach it.",
			Action:   "Restart it with LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true until no member speaks plain-only any more.",
			Members:  []Ref{refOf(*early)},
		}}
		d.NextSteps = []Step{{
			Text:     "Restart the 3 plain-only members with SSL enabled and downgrade support on.",
			Members:  refsOf(d.Members, SpeaksPlainOnly),
			Settings: downgradeSettings(true),
		}}
	case PhaseTwo:
		d.Members[4].Cert.Verified = false
		d.Members[4].Cert.VerifyError = "x509: certificate is valid for agent-9.mesos.example, not agent-1.mesos.example"
		d.Members[4].Warnings = []string{"Hostname agent-1.mesos.example is not covered by the certificate."}
		d.Members[7].TLS.Version = "TLS 1.1"
		d.Members[7].Warnings = []string{"Negotiated TLS 1.1; TLS 1.2 or later is required by default."}
		d.NextSteps = []Step{{
			Text:     "Restart the 4 members that still accept plain connections with downgrade support off.",
			Members:  refsOf(d.Members, SpeaksSSLDowngrade),
			Settings: downgradeSettings(false),
		}}
	case PhaseComplete:
		for i := range d.Members {
			d.Members[i].TLS.Version = "TLS 1.3"
			d.Members[i].TLS.Cipher = "TLS_AES_128_GCM_SHA256"
		}
		d.NextSteps = []Step{{
			Text: "Optionally, let members verify each other's certificates, as the Mesos SSL guide recommends.",
			Settings: []Setting{
				{"LIBPROCESS_SSL_VERIFY_SERVER_CERT", "true"},
				{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "openssl"},
			},
		}}
	}
	return d
}

// phases are the migration's phases in order.
var phases = []Phase{PhaseNotStarted, PhaseOne, PhaseTwo, PhaseComplete}
