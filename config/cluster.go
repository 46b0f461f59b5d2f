package config

import (
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// Cluster is what the commands that talk to a Mesos cluster (serve,
// probe, certs) share: where the masters are, how the gateway's own
// requests to them authenticate, how members are probed and reached, and
// the libprocess SSL settings of the connecting side. Every field's zero
// value means its default; server turns a Cluster into upstream's
// configuration in one place.
type Cluster struct {
	// Masters are the configured masters, in the order given. serve,
	// probe and certs need at least one, or ZooKeeper; demo fills them
	// from the simulated cluster.
	Masters []Master
	// ZooKeeper, when it names servers, is the ZooKeeper group the
	// masters join (--master zk://...): they are found there instead, and
	// Masters is empty. Its String hides the password.
	ZooKeeper zookeeper.URL
	// MasterFile is the file:///path --master named, "" for none: the
	// masters (or ZooKeeper) came from its content, read once by Load.
	MasterFile string
	// MasterCredentials is the --master-credentials file, "" for none;
	// MasterCredential is what Load read from it: the principal and secret
	// the gateway's own requests to masters authenticate with (browsers'
	// requests carry their own Authorization). Its String hides the
	// secret.
	MasterCredentials string
	MasterCredential  Credential
	// UpstreamTLS is whether members that speak plain HTTP only are
	// reached; "" means UpstreamAuto.
	UpstreamTLS UpstreamTLS
	// Refresh is how often the masters' state is polled; zero means
	// DefaultRefresh.
	Refresh time.Duration
	// ProbeInterval is how often every member is probed (jittered); zero
	// means DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe of one member (connect, handshake,
	// plain request); zero means DefaultProbeTimeout.
	ProbeTimeout time.Duration
	// StaleSoftLimit is the age of the cluster map past which it is served
	// with a warning; zero means DefaultStaleSoftLimit.
	StaleSoftLimit time.Duration
	// StaleHardLimit is the age past which routes answer 503 saying why;
	// zero means DefaultStaleHardLimit.
	StaleHardLimit time.Duration
	// ServiceAllow are hosts (names, IP addresses) and networks (CIDRs)
	// framework UIs may be at besides the cluster members' hosts
	// (--service-allow); nil allows members' hosts only.
	ServiceAllow []string
	// TLS are the libprocess SSL settings. They configure the
	// connections to members, and for serve the front too: an Unset
	// Enabled or EnableTLSv13 then means on (see Gateway).
	TLS tlsx.Settings
}

// checkCluster applies the rules of a command that talks to the cluster:
// at least one master, the SSL files, the credentials file. It returns
// the warnings about the settings, libprocess's included.
func (c *Cluster) checkCluster(s *set, command string) []string {
	requireMasters(s, c, command)
	checkVersions(s, c.TLS)
	checkKeyPair(s, c.TLS)
	checkSSLFiles(s, c.TLS)
	warnings := readCredentials(s, c.MasterCredentials, &c.MasterCredential)
	return append(warnings, advise(c.TLS, func(suffix string) string { return sslName(s, suffix) })...)
}

// command is the settings struct of one command, as load fills it:
// define registers its settings, validate applies the rules between them,
// and the embedded Origins records where values came from.
type command interface {
	define(*set) []string
	validate(*set) []string
	origins() *Origins
}

// origins lets load fill a command's embedded Origins.
func (o *Origins) origins() *Origins { return o }

// loadCommand loads a command's settings into c; see Load for the shape
// of errors.
func loadCommand[C command](name string, args, environment []string, c C) (C, error) {
	o, err := load(name, args, environment, true, c.define, c.validate)
	if err != nil {
		var zero C
		return zero, err
	}
	*c.origins() = o
	return c, nil
}
