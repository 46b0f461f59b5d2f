package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// runCerts is `mesosgate certs`: discover the cluster, then write a CA
// (unless given) and one certificate covering every master and agent,
// with a README saying what to set on each.
func runCerts(args, environ []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return certsCommand(ctx, args, environ, stdout, stderr)
}

// certsCommand exits 0 when the files are written, and 2 for what the
// user can fix: bad settings, no master to discover from, files already
// there, a CA that does not load, a directory that cannot be written.
func certsCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	c, err := config.LoadCerts(args, environ)
	if err != nil {
		return loadFailed("certs", err, stdout, stderr)
	}
	warn("certs", c.Warnings, stderr)
	found, err := discoverNames(ctx, c, stderr)
	if err != nil {
		return failed("certs", err, stderr, 2)
	}
	for _, n := range found.notes {
		fmt.Fprintf(stderr, "mesosgate certs: note: %s\n", n)
	}
	res, err := certsJob{
		out: c.Out, names: append(found.names, c.Hosts...),
		caCert: c.CACert, caKey: c.CAKey, validity: c.Validity, force: c.Force,
	}.write()
	if err != nil {
		return failed("certs", err, stderr, 2)
	}
	fmt.Fprintf(stdout, "Found %s and %s; wrote %s.\n\n%s", count(found.masters, "master", "masters"), count(found.agents, "agent", "agents"),
		strings.Join(res.files, ", "), res.readme)
	return 0
}

// discovered is what discovery found for the certificate.
type discovered struct {
	names           []string // hostnames and addresses, repeats allowed
	masters, agents int
	notes           []string // what the certificate may miss
}

// discoverNames asks the masters for the cluster once and collects every
// master's and agent's hostname and IP address, and the configured
// masters' hosts.
func discoverNames(ctx context.Context, c *config.Certs, stderr io.Writer) (*discovered, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// certs only connects to masters: ENABLED (the accepting side) does
	// not apply.
	settings := c.TLS
	settings.Enabled = tlsx.Unset
	tlsContext, err := tlsx.NewContext(settings, tlsx.Options{Name: c.SSLName, Logger: logger, ReloadInterval: -1})
	if err != nil {
		return nil, err
	}
	defer tlsContext.Close()
	cfg := upstream.Config{TLS: tlsContext, NoSubscribe: true, Logger: logger}
	for _, m := range c.Masters {
		cfg.Masters = append(cfg.Masters, upstream.Master{Scheme: m.Scheme, Address: m.Address})
	}
	if c.MasterCredentials != "" {
		cfg.Credentials = &upstream.Credentials{Principal: c.MasterCredential.Principal, Secret: c.MasterCredential.Secret}
	}
	cluster, err := upstream.New(cfg)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()
	if err := cluster.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("%w; check %s", err, c.Name("master"))
	}
	return namesOf(cluster.Snapshot(), c.Masters), nil
}

// namesOf collects the SANs of a cluster: each member's hostname and the
// host of every address it is known by (an agent's pid IP, a master's
// configured address, hostname and pid IP), and the configured masters'
// hosts.
func namesOf(snap *upstream.Snapshot, configured []config.Master) *discovered {
	d := &discovered{agents: len(snap.Agents)}
	add := func(hostPort string) {
		if host, _, err := net.SplitHostPort(hostPort); err == nil {
			d.names = append(d.names, host)
		}
	}
	for _, m := range snap.Members() {
		if m.Role != upstream.RoleAgent {
			d.masters++
		}
		if m.Hostname != "" {
			d.names = append(d.names, m.Hostname)
		}
		for _, a := range m.Addresses {
			add(a)
		}
		add(m.Address)
		if m.Role == upstream.RoleStandby {
			d.notes = append(d.notes, fmt.Sprintf("standby master %s is known by the address it was given only: if members or browsers reach it by another name or address, add it with --host", m.Address))
		}
	}
	for _, m := range configured {
		add(m.Address)
	}
	return d
}

// The files `mesosgate certs` writes into --out.
const (
	certsCAFile     = "ca.pem"
	certsCAKeyFile  = "ca-key.pem"
	certsCertFile   = "cert.pem"
	certsKeyFile    = "key.pem"
	certsReadmeFile = "README.txt"
)

// certsJob is what `mesosgate certs` writes once the cluster is known.
type certsJob struct {
	// out is the directory written to, created (mode 0700) when missing.
	out string
	// names are the certificate's SANs: DNS names and IP addresses, in
	// any order, repeats allowed.
	names []string
	// caCert and caKey are an existing CA's files; both empty mints a CA
	// into out.
	caCert, caKey string
	// validity is the certificate's lifetime.
	validity time.Duration
	// force replaces files that exist; without it none is touched.
	force bool
}

// certsResult says what was written.
type certsResult struct {
	files    []string // paths written, in order
	dnsNames []string
	ips      []netip.Addr
	caFile   string // the CA certificate members trust
	minted   bool   // the CA was made now
	notAfter time.Time
	readme   string
}

// write mints or loads the CA, signs one certificate for every name and
// writes the files. Nothing is written when a file exists and force is
// off; a failure part way removes what this run wrote.
func (j certsJob) write() (*certsResult, error) {
	res := &certsResult{minted: j.caCert == ""}
	res.dnsNames, res.ips = splitNames(j.names)
	if len(res.dnsNames) == 0 && len(res.ips) == 0 {
		return nil, errors.New("no names for the certificate: the cluster has no members and no --host was given")
	}
	targets := []string{certsCertFile, certsKeyFile, certsReadmeFile}
	switch {
	case res.minted:
		targets = append(targets, certsCAFile, certsCAKeyFile)
	case !j.caInOut():
		targets = append(targets, certsCAFile) // a copy of --ca-cert
	}
	if !j.force {
		if err := refuseExisting(j.out, targets); err != nil {
			return nil, err
		}
	}
	ca, err := j.ca()
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Issue(tlsx.LeafRequest{
		DNSNames: res.dnsNames, IPAddresses: netIPs(res.ips), Validity: j.validity,
		// Stock members negotiate RSA key exchange suites only
		// (libprocess's default CIPHERS), which need an RSA key; and one
		// certificate serves both roles, server and client.
		RSABits: 2048, Usage: tlsx.ServerAndClient,
	})
	if err != nil {
		return nil, err
	}
	res.notAfter = leaf.Cert.NotAfter
	res.caFile = filepath.Join(j.out, certsCAFile)
	res.readme = certsReadme(j, res)
	files, err := j.contents(ca, leaf, res)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.out, 0o700); err != nil {
		return nil, fmt.Errorf("create --out %s: %w", j.out, err)
	}
	for _, f := range files {
		if err := writeCertsFile(f.path, f.data, f.perm, j.force); err != nil {
			for _, done := range res.files {
				os.Remove(done)
			}
			return nil, err
		}
		res.files = append(res.files, f.path)
	}
	return res, nil
}

// ca loads the given CA or mints one.
func (j certsJob) ca() (*tlsx.CA, error) {
	if j.caCert != "" {
		ca, err := tlsx.LoadCAFiles(j.caCert, j.caKey)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert/--ca-key: %w", err)
		}
		return ca, nil
	}
	host, _ := os.Hostname()
	return tlsx.NewCA("mesosgate cluster CA "+host+" "+time.Now().UTC().Format("2006-01-02"), 0)
}

// caInOut reports whether --ca-cert is the ca.pem of --out (a CA made by
// an earlier run, kept): it is then neither copied nor refused.
func (j certsJob) caInOut() bool {
	given, err1 := os.Stat(j.caCert)
	out, err2 := os.Stat(filepath.Join(j.out, certsCAFile))
	return err1 == nil && err2 == nil && os.SameFile(given, out)
}

// certsFile is one file to write.
type certsFile struct {
	path string
	data []byte
	perm os.FileMode
}

// contents returns the files in the order they are written: keys before
// the certificates they belong to, the README last.
func (j certsJob) contents(ca *tlsx.CA, leaf *tlsx.Leaf, res *certsResult) ([]certsFile, error) {
	var files []certsFile
	if res.minted {
		k, err := ca.KeyPEM()
		if err != nil {
			return nil, err
		}
		files = append(files, certsFile{filepath.Join(j.out, certsCAKeyFile), k, 0o600})
	}
	if res.minted || !j.caInOut() {
		files = append(files, certsFile{res.caFile, ca.CertPEM(), 0o644})
	}
	k, err := leaf.KeyPEM()
	if err != nil {
		return nil, err
	}
	return append(files,
		certsFile{filepath.Join(j.out, certsKeyFile), k, 0o600},
		certsFile{filepath.Join(j.out, certsCertFile), leaf.CertPEM(), 0o644},
		certsFile{filepath.Join(j.out, certsReadmeFile), []byte(res.readme), 0o644},
	), nil
}

// refuseExisting reports the target files that already exist in dir.
func refuseExisting(dir string, names []string) error {
	var found []string
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, fs.ErrNotExist) {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		return nil
	}
	return fmt.Errorf("%s already holds %s: nothing was written; give --force to replace them, or another --out", dir, strings.Join(found, ", "))
}

// writeCertsFile writes a file atomically (a temporary file synced, then
// moved into place). Without force it is linked into place instead, which
// fails if the file appeared meanwhile: an existing file is never
// replaced.
func writeCertsFile(path string, data []byte, perm os.FileMode, force bool) error {
	if force {
		return tlsx.WriteFileAtomic(path, data, perm)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write %s: it appeared while certs ran; give --force to replace it", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// splitNames sorts names into DNS names (lower case) and IP addresses,
// each sorted and without repeats.
func splitNames(names []string) ([]string, []netip.Addr) {
	var dns []string
	var ips []netip.Addr
	for _, n := range names {
		n = strings.TrimSuffix(strings.TrimSpace(n), ".")
		if n == "" {
			continue
		}
		if a, err := netip.ParseAddr(n); err == nil {
			ips = append(ips, a.Unmap().WithZone(""))
		} else {
			dns = append(dns, strings.ToLower(n))
		}
	}
	slices.Sort(dns)
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(dns), slices.Compact(ips)
}

func netIPs(ips []netip.Addr) []net.IP {
	out := make([]net.IP, len(ips))
	for i, a := range ips {
		out[i] = net.IP(a.AsSlice())
	}
	return out
}

// certsReadme is the text written next to the files (and printed): what
// each file is and what to set on every member.
func certsReadme(j certsJob, res *certsResult) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "mesosgate certs wrote these files on %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  %s\tthe CA certificate: every member, the gateway and any client trusts it\n", certsCAFile)
	if res.minted {
		fmt.Fprintf(w, "  %s\tthe CA's key (mode 0600): keep it off the members, safe and private; it can sign for any name\n", certsCAKeyFile)
	} else {
		fmt.Fprintf(w, "  \t(a copy of --ca-cert %s; its key stays where it is)\n", j.caCert)
	}
	fmt.Fprintf(w, "  %s\tthe certificate every master and agent presents (RSA 2048, server and client), valid until %s\n", certsCertFile, res.notAfter.UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "  %s\tits key (mode 0600): readable by the user Mesos runs as, and nobody else\n", certsKeyFile)
	w.Flush()
	fmt.Fprintf(&b, "\nThe certificate names %s and %s (every master and agent found, and --host):\n",
		count(len(res.dnsNames), "DNS name", "DNS names"), count(len(res.ips), "IP address", "IP addresses"))
	names := slices.Clone(res.dnsNames)
	for _, ip := range res.ips {
		names = append(names, ip.String())
	}
	b.WriteString(wrap(names, "  ", 78))
	b.WriteString(`
Copy ca.pem, cert.pem and key.pem to every master and agent (below, to
/etc/mesos/ssl/) and set, in the environment of each:

  LIBPROCESS_SSL_ENABLED=true
  LIBPROCESS_SSL_CERT_FILE=/etc/mesos/ssl/cert.pem
  LIBPROCESS_SSL_KEY_FILE=/etc/mesos/ssl/key.pem
  LIBPROCESS_SSL_CA_FILE=/etc/mesos/ssl/ca.pem
  LIBPROCESS_SSL_VERIFY_SERVER_CERT=true
  LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME=openssl
  LIBPROCESS_SSL_VERIFY_IPADD=true

VERIFY_IPADD lets members that reach each other by IP address (libprocess
addresses peers by IP) verify the certificate's IP addresses. Mesos before
1.0 reads the same variables with the SSL_ prefix instead (SSL_ENABLED, ...).

Migrate in two rolling restarts, checking with "mesosgate probe" between:
  1. every member with the variables above and LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true
     (libprocess warns that verification can be bypassed while downgrades
     are enabled: this phase is a passage, not a place to stay);
  2. once no member speaks plain HTTP only: every member with
     LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false.
Adding LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true makes members demand the
certificate from each other too: the shared certificate is a client
certificate as well.

Give the gateway the same CA to verify the members: LIBPROCESS_SSL_CA_FILE,
LIBPROCESS_SSL_VERIFY_SERVER_CERT=true and
LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME=openssl; a browser trusting ca.pem
can then also reach members directly (--links direct).
`)
	keep := "--ca-cert ca.pem --ca-key ca-key.pem"
	if !res.minted {
		keep = "--ca-cert " + j.caCert + " --ca-key " + j.caKey
	}
	fmt.Fprintf(&b, "\nRun \"mesosgate certs\" again with --force and %s (to keep this\nCA) when members are added, and before the certificate expires.\n", keep)
	return b.String()
}

// count writes n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// wrap lists words on lines of at most width characters, each indented.
func wrap(words []string, indent string, width int) string {
	var b strings.Builder
	line := indent
	for i, w := range words {
		if i > 0 && len(line)+len(w)+2 > width {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = indent
		}
		line += w
		if i < len(words)-1 {
			line += ", "
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}
