package tlsx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// This file is `mesosgate certs`' certificate: one CA (minted, or an
// existing one) and one RSA certificate naming every master and agent,
// which every member presents as server and client, written into a
// directory with a README saying what to set on each member. Mesos
// suggests such "a common certificate that covers multiple hostnames" so
// browsers move between members freely (docs/ssl.md).

// The files a SharedRequest writes into Out.
const (
	SharedCAFile     = "ca.pem"
	SharedCAKeyFile  = "ca-key.pem"
	SharedCertFile   = "cert.pem"
	SharedKeyFile    = "key.pem"
	SharedReadmeFile = "README.txt"
)

// SharedRequest asks for the cluster's shared certificate.
type SharedRequest struct {
	// Out is the directory written to, created (mode 0700) when missing.
	Out string
	// Names are the certificate's SANs: DNS names and IP addresses, in
	// any order, repeats allowed. At least one.
	Names []string
	// CACert and CAKey are an existing CA's files; both empty mints a CA
	// into Out.
	CACert, CAKey string
	// Validity is the certificate's lifetime; zero means one year.
	Validity time.Duration
	// Force replaces files that exist; false refuses and writes nothing
	// when any of them does.
	Force bool
}

// SharedFiles says what Write wrote.
type SharedFiles struct {
	// Files are the paths written, in order.
	Files []string
	// DNSNames and IPs are the certificate's SANs, sorted.
	DNSNames []string
	IPs      []netip.Addr
	// CAFile is the CA certificate members trust.
	CAFile string
	// Minted is whether the CA was made now.
	Minted bool
	// NotAfter is when the certificate expires.
	NotAfter time.Time
	// Readme is the README's text, also worth printing.
	Readme string
}

// Write mints or loads the CA, signs one certificate for every name and
// writes the files. Nothing is written when a file exists and force is
// off; a failure part way removes what this run wrote.
func (j SharedRequest) Write() (*SharedFiles, error) {
	res := &SharedFiles{Minted: j.CACert == ""}
	res.DNSNames, res.IPs = splitNames(j.Names)
	if len(res.DNSNames) == 0 && len(res.IPs) == 0 {
		return nil, errors.New("no names for the certificate: the cluster has no members and no --host was given")
	}
	targets := []string{SharedCertFile, SharedKeyFile, SharedReadmeFile}
	switch {
	case res.Minted:
		targets = append(targets, SharedCAFile, SharedCAKeyFile)
	case !j.caInOut():
		targets = append(targets, SharedCAFile) // a copy of --ca-cert
	}
	if !j.Force {
		if err := refuseExisting(j.Out, targets); err != nil {
			return nil, err
		}
	}
	ca, err := j.ca()
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Issue(LeafRequest{
		DNSNames: res.DNSNames, IPAddresses: netIPs(res.IPs), Validity: j.Validity,
		// Stock members negotiate RSA key exchange suites only
		// (libprocess's default CIPHERS), which need an RSA key; and one
		// certificate serves both roles, server and client.
		RSABits: 2048, Usage: ServerAndClient,
	})
	if err != nil {
		return nil, err
	}
	res.NotAfter = leaf.Cert.NotAfter
	res.CAFile = filepath.Join(j.Out, SharedCAFile)
	res.Readme = sharedReadme(j, res)
	files, err := j.contents(ca, leaf, res)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.Out, 0o700); err != nil {
		return nil, fmt.Errorf("create --out %s: %w", j.Out, err)
	}
	for _, f := range files {
		if err := writeShared(f.path, f.data, f.perm, j.Force); err != nil {
			for _, done := range res.Files {
				os.Remove(done)
			}
			return nil, err
		}
		res.Files = append(res.Files, f.path)
	}
	return res, nil
}

// ca loads the given CA or mints one.
func (j SharedRequest) ca() (*CA, error) {
	if j.CACert != "" {
		ca, err := LoadCAFiles(j.CACert, j.CAKey)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert/--ca-key: %w", err)
		}
		return ca, nil
	}
	host, _ := os.Hostname()
	return NewCA("mesosgate cluster CA "+host+" "+time.Now().UTC().Format("2006-01-02"), 0)
}

// caInOut reports whether --ca-cert is the ca.pem of --out (a CA made by
// an earlier run, kept): it is then neither copied nor refused.
func (j SharedRequest) caInOut() bool {
	given, err1 := os.Stat(j.CACert)
	out, err2 := os.Stat(filepath.Join(j.Out, SharedCAFile))
	return err1 == nil && err2 == nil && os.SameFile(given, out)
}

// sharedFile is one file to write.
type sharedFile struct {
	path string
	data []byte
	perm os.FileMode
}

// contents returns the files in the order they are written: keys before
// the certificates they belong to, the README last.
func (j SharedRequest) contents(ca *CA, leaf *Leaf, res *SharedFiles) ([]sharedFile, error) {
	var files []sharedFile
	if res.Minted {
		k, err := ca.KeyPEM()
		if err != nil {
			return nil, err
		}
		files = append(files, sharedFile{filepath.Join(j.Out, SharedCAKeyFile), k, 0o600})
	}
	if res.Minted || !j.caInOut() {
		files = append(files, sharedFile{res.CAFile, ca.CertPEM(), 0o644})
	}
	k, err := leaf.KeyPEM()
	if err != nil {
		return nil, err
	}
	return append(files,
		sharedFile{filepath.Join(j.Out, SharedKeyFile), k, 0o600},
		sharedFile{filepath.Join(j.Out, SharedCertFile), leaf.CertPEM(), 0o644},
		sharedFile{filepath.Join(j.Out, SharedReadmeFile), []byte(res.Readme), 0o644},
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

// writeShared writes a file atomically (a temporary file synced, then
// moved into place). Without force it is linked into place instead, which
// fails if the file appeared meanwhile: an existing file is never
// replaced.
func writeShared(path string, data []byte, perm os.FileMode, force bool) error {
	if force {
		return WriteFileAtomic(path, data, perm)
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

// sharedReadme is the text written next to the files (and printed): what
// each file is and what to set on every member.
func sharedReadme(j SharedRequest, res *SharedFiles) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "mesosgate certs wrote these files on %s.\n\n", time.Now().UTC().Format("2006-01-02"))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  %s\tthe CA certificate: every member, the gateway and any client trusts it\n", SharedCAFile)
	if res.Minted {
		fmt.Fprintf(w, "  %s\tthe CA's key (mode 0600): keep it off the members, safe and private; it can sign for any name\n", SharedCAKeyFile)
	} else {
		fmt.Fprintf(w, "  \t(a copy of --ca-cert %s; its key stays where it is)\n", j.CACert)
	}
	fmt.Fprintf(w, "  %s\tthe certificate every master and agent presents (RSA 2048, server and client), valid until %s\n", SharedCertFile, res.NotAfter.UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "  %s\tits key (mode 0600): readable by the user Mesos runs as, and nobody else\n", SharedKeyFile)
	w.Flush()
	fmt.Fprintf(&b, "\nThe certificate names %s and %s (every master and agent found, and --host):\n",
		count(len(res.DNSNames), "DNS name", "DNS names"), count(len(res.IPs), "IP address", "IP addresses"))
	names := slices.Clone(res.DNSNames)
	for _, ip := range res.IPs {
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
	if !res.Minted {
		keep = "--ca-cert " + j.CACert + " --ca-key " + j.CAKey
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
