package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mesosgate/mesosgate/zookeeper"
)

// This file holds the settings of the commands that are not the gateway:
// probe, certs and sim, each a small struct loaded by the same mechanism.

// clientSSL are the defaults of commands that only connect to members:
// TLS 1.3 is offered so a member that speaks it is seen speaking it.
func clientSSL() sslDefaults {
	return sslDefaults{"ENABLE_TLS_V1_3": gatewaySSL()["ENABLE_TLS_V1_3"]}
}

// Probe is the settings of `mesosgate probe`: discover the cluster once,
// probe every member, print a table or JSON.
type Probe struct {
	// Cluster is how the masters are reached (Masters, credentials,
	// ProbeTimeout, TLS: the connecting side, with TLS 1.3 on unless set
	// to false); the gateway's other fields keep their zero values.
	Cluster
	// JSON selects the `probe --json` shape instead of a table.
	JSON bool

	Origins
}

// LoadProbe reads probe's settings; see Load for the shape of errors.
func LoadProbe(args, environment []string) (*Probe, error) {
	return loadCommand("probe", args, environment, &Probe{})
}

func (p *Probe) define(s *set) []string {
	defineMasters(s, &p.Cluster)
	s.add(&setting{flag: "json", boolean: true, def: "false",
		usage: "print JSON (phase, next steps, members) instead of a table",
		parse: boolParser(&p.JSON), show: func() string { return strconv.FormatBool(p.JSON) }})
	s.add(durationSetting(&p.ProbeTimeout, "probe-timeout", DefaultProbeTimeout, time.Millisecond, "longest time one probe of one member may take"))
	defineCredentials(s, &p.MasterCredentials)
	return s.addSSL(&p.TLS, clientSSL())
}

func (p *Probe) validate(s *set) []string { return p.checkCluster(s, "probe") }

// Certs is the settings of `mesosgate certs`: one certificate whose SANs
// cover every discovered master and agent, signed by a CA minted into Out
// or given.
type Certs struct {
	// Cluster is how the masters are reached (Masters, credentials, TLS:
	// the connecting side); its other fields keep their zero values.
	Cluster
	// Out is the directory the CA (when minted), the certificate and its
	// key are written to; it is created when missing.
	Out string
	// Hosts are extra names (DNS names or IP addresses) for the SANs, such
	// as a load balancer's name in front of the masters.
	Hosts []string
	// CACert and CAKey are an existing CA's PEM files to sign with; both
	// empty means a new CA is minted into Out.
	CACert, CAKey string
	// Validity is how long the certificate is valid (--days); zero means
	// DefaultCertValidity.
	Validity time.Duration
	// Force replaces files Out already holds; false refuses the run and
	// writes nothing when any of them exists.
	Force bool

	Origins
}

// DefaultCertValidity is the certs command's default validity: 825 days,
// the longest that Apple's platforms accept for a TLS server certificate
// from a private CA.
const DefaultCertValidity = 825 * 24 * time.Hour

// MaxCertDays bounds --days: ten years, a CA's own default lifetime.
const MaxCertDays = 3650

// LoadCerts reads certs' settings; see Load for the shape of errors.
func LoadCerts(args, environment []string) (*Certs, error) {
	return loadCommand("certs", args, environment, &Certs{})
}

func (c *Certs) define(s *set) []string {
	defineMasters(s, &c.Cluster)
	s.add(&setting{flag: "out", placeholder: "DIR",
		usage: "directory the CA, the certificate and its key are written to (created when missing)",
		parse: pathParser(&c.Out), show: func() string { return orNone(c.Out) }})
	s.add(&setting{flag: "host", placeholder: "NAME", multi: true,
		usage: "extra DNS name or IP address for the certificate (repeat or separate with commas)",
		parse: hostParser(&c.Hosts), show: func() string { return joinOrNone(c.Hosts) }})
	s.add(&setting{flag: "ca-cert", placeholder: "FILE",
		usage: "PEM certificate of an existing CA to sign with (with --ca-key); default: mint a CA into --out",
		parse: pathParser(&c.CACert), show: func() string { return orNone(c.CACert) }})
	s.add(&setting{flag: "ca-key", placeholder: "FILE",
		usage: "PEM key of --ca-cert",
		parse: pathParser(&c.CAKey), show: func() string { return orNone(c.CAKey) }})
	s.add(&setting{flag: "days", placeholder: "N", def: strconv.Itoa(int(DefaultCertValidity / (24 * time.Hour))),
		usage: fmt.Sprintf("how many days the certificate is valid (1 to %d; Apple's platforms refuse a server certificate valid longer than 825)", MaxCertDays),
		parse: daysParser(&c.Validity, MaxCertDays), show: func() string { return strconv.Itoa(int(c.Validity / (24 * time.Hour))) }})
	s.add(&setting{flag: "force", boolean: true, def: "false",
		usage: "replace the files --out already holds (without it, nothing is written when any exists)",
		parse: boolParser(&c.Force), show: func() string { return strconv.FormatBool(c.Force) }})
	defineCredentials(s, &c.MasterCredentials)
	return s.addSSL(&c.TLS, clientSSL())
}

func (c *Certs) validate(s *set) []string {
	warnings := c.checkCluster(s, "certs")
	if c.Out == "" && s.ok("out") {
		s.fail("--out is required: give the directory to write the certificate into")
	}
	if c.Out != "" {
		if fi, err := os.Stat(c.Out); err == nil && !fi.IsDir() {
			s.fail("%s=%s: is a file, not a directory; give a directory (it is created when missing)", s.name("out"), quote(c.Out))
		}
	}
	switch {
	case !s.ok("ca-cert", "ca-key"):
	case c.CACert != "" && c.CAKey == "":
		s.fail("%s is set but --ca-key is not: give both, or neither to mint a CA", s.name("ca-cert"))
	case c.CACert == "" && c.CAKey != "":
		s.fail("%s is set but --ca-cert is not: give both, or neither to mint a CA", s.name("ca-key"))
	}
	for _, f := range []struct{ flag, path string }{{"ca-cert", c.CACert}, {"ca-key", c.CAKey}} {
		if f.path != "" {
			if err := readableFile(f.path); err != nil {
				s.fail("%s=%s: %v", s.name(f.flag), quote(f.path), err)
			}
		}
	}
	return warnings
}

// daysParser accepts a whole number of days from 1 to max.
func daysParser(p *time.Duration, max int) func(string) error {
	days := 0
	parse := intParser(&days, 1, max)
	return func(v string) error {
		if err := parse(v); err != nil {
			return err
		}
		*p = time.Duration(days) * 24 * time.Hour
		return nil
	}
}

// hostParser accepts a DNS name or an IP address.
func hostParser(p *[]string) func(string) error {
	return func(v string) error {
		if addr, err := netip.ParseAddr(v); err == nil {
			*p = append(*p, addr.String())
			return nil
		}
		if !validDNSName(strings.TrimPrefix(v, "*.")) {
			return errors.New("not a DNS name or IP address; write it like mesos.example.com or 192.0.2.10")
		}
		*p = append(*p, strings.ToLower(v))
		return nil
	}
}

// Sim is the settings of `mesosgate sim`: a simulated cluster on loopback.
type Sim struct {
	// Masters is how many masters run; zero means 1.
	Masters int
	// MasterModes gives each master's SSL mode (SimModes); a shorter list
	// repeats its last entry. Empty means plain.
	MasterModes []string
	// Agents is how many agents run; Load's default is 4, and zero runs
	// none.
	Agents int
	// Modes gives each agent's SSL mode, as MasterModes.
	Modes []string
	// WebUIDir, if set, is a Mesos WebUI directory the leader serves
	// instead of the simulator's own.
	WebUIDir string
	// Dir, if set, keeps the cluster's certificates, logs and sandboxes;
	// empty means a temporary directory removed on exit.
	Dir string
	// ZK, if set, is a zk:// URL the masters register in as Mesos masters
	// do; empty means no ZooKeeper.
	ZK string
	// ZKProtobuf makes the masters write Mesos 0.23's protobuf info_
	// znodes instead of JSON.
	ZKProtobuf bool

	Origins
}

// SimModes are the SSL modes of simulated members: plain HTTP; TLS with
// downgrade; TLS only; TLS only, demanding a client certificate.
func SimModes() []string { return []string{"plain", "downgrade", "ssl", "ssl-clientcert"} }

// MaxSimAgents bounds --agents: each agent holds one listening socket, and
// 15,000 of them leave room under a 20,000 open-file limit for the
// connections a probe sweep opens.
const MaxSimAgents = 15000

// LoadSim reads sim's settings; see Load for the shape of errors.
func LoadSim(args, environment []string) (*Sim, error) {
	return loadCommand("sim", args, environment, &Sim{})
}

func (m *Sim) define(s *set) []string {
	s.add(&setting{flag: "masters", placeholder: "N", def: "1", usage: "how many masters run (1 to 9)",
		parse: intParser(&m.Masters, 1, 9), show: func() string { return strconv.Itoa(m.Masters) }})
	s.add(&setting{flag: "master-modes", placeholder: "MODES", def: "plain", multi: true,
		usage: "each master's mode: " + orList(SimModes()) + " (comma separated; a shorter list repeats its last entry)",
		parse: modeParser(&m.MasterModes), show: func() string { return joinOrNone(m.MasterModes) }})
	s.add(&setting{flag: "agents", placeholder: "N", def: "4", usage: fmt.Sprintf("how many agents run (0 to %d)", MaxSimAgents),
		parse: intParser(&m.Agents, 0, MaxSimAgents), show: func() string { return strconv.Itoa(m.Agents) }})
	s.add(&setting{flag: "modes", placeholder: "MODES", def: "plain,downgrade,ssl,ssl", multi: true,
		usage: "each agent's mode, as --master-modes",
		parse: modeParser(&m.Modes), show: func() string { return joinOrNone(m.Modes) }})
	s.add(&setting{flag: "webui-dir", placeholder: "DIR",
		usage: "serve this Mesos WebUI directory (src/webui of a Mesos source tree) instead of the simulator's own",
		parse: pathParser(&m.WebUIDir), show: func() string { return orNone(m.WebUIDir) }})
	s.add(&setting{flag: "dir", placeholder: "DIR",
		usage: "keep the cluster's certificates, logs and sandboxes here (default: a temporary directory removed on exit)",
		parse: pathParser(&m.Dir), show: func() string { return orNone(m.Dir) }})
	s.add(&setting{flag: "zk", placeholder: "URL",
		usage: "register the masters in this ZooKeeper group as Mesos masters do, zk://HOST:PORT/PATH (default: no ZooKeeper)",
		parse: zkParser(&m.ZK), redact: zookeeper.RedactURL, show: func() string { return orNone(zookeeper.RedactURL(m.ZK)) }})
	s.add(&setting{flag: "zk-protobuf", boolean: true, def: "false",
		usage: "with --zk, write Mesos 0.23's protobuf info_ znodes instead of JSON",
		parse: boolParser(&m.ZKProtobuf), show: func() string { return strconv.FormatBool(m.ZKProtobuf) }})
	return nil
}

// zkParser checks a zk:// URL.
func zkParser(p *string) func(string) error {
	return func(v string) error {
		if _, err := zookeeper.ParseURL(v); err != nil {
			return err
		}
		*p = v
		return nil
	}
}

func (m *Sim) validate(s *set) []string {
	m.MasterModes = fitModes(s, "master-modes", "masters", m.MasterModes, m.Masters)
	m.Modes = fitModes(s, "modes", "agents", m.Modes, m.Agents)
	if m.WebUIDir != "" {
		if err := webUIDir(m.WebUIDir); err != nil {
			s.fail("%s=%s: %v", s.name("webui-dir"), quote(m.WebUIDir), err)
		}
	}
	if m.ZKProtobuf && m.ZK == "" && s.ok("zk") {
		s.fail("%s needs %s: give the ZooKeeper group's URL", s.name("zk-protobuf"), s.name("zk"))
	}
	return nil
}

// fitModes checks that a mode list given by the user has at most one mode
// per member, and cuts the default list to the number of members.
func fitModes(s *set, flag, what string, modes []string, n int) []string {
	if !s.ok(flag, what) || len(modes) <= n {
		return modes
	}
	if !s.isSet(flag) {
		return modes[:n]
	}
	s.fail("%s gives %d modes for %d %s: give at most one per member", s.name(flag), len(modes), n, what)
	return modes
}

func intParser(p *int, lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("not a number from %d to %d", lo, hi)
		}
		*p = n
		return nil
	}
}

func modeParser(p *[]string) func(string) error {
	return func(v string) error {
		for _, mode := range SimModes() {
			if v == mode {
				*p = append(*p, v)
				return nil
			}
		}
		return fmt.Errorf("unknown mode; use %s", orList(SimModes()))
	}
}
