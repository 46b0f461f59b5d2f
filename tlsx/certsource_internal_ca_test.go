package tlsx

import (
	"bytes"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/certmagic"
)

// The shared storage in these tests is certmagic's FileStorage in a
// directory no gateway's data directory holds: any certmagic.Storage
// works, the ZooKeeper one included (tested with real gateways in e2e).

// TestInternalSharedStorage: three gateways, each with a data directory
// of its own, start together on one shared storage: they mint one CA,
// kept (its key too) in the storage, issue each certificate once and
// serve the same one; each writes the CA's certificate, never its key,
// into its data directory for operators, and a client trusting that file
// alone accepts any of them.
func TestInternalSharedStorage(t *testing.T) {
	shared := &certmagic.FileStorage{Path: t.TempDir()}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	var opts []InternalOptions
	for _, dir := range dirs {
		opts = append(opts, InternalOptions{DataDir: dir, Storage: shared, Names: []string{"localhost"},
			IPs: []netip.Addr{loopback}, Logger: slog.New(slog.DiscardHandler)})
	}
	srcs := startTogether(t, opts...)
	ca := srcs[0].CA()
	for i, src := range srcs {
		if !src.CA().Cert.Equal(ca.Cert) {
			t.Errorf("gateway %d issues from another CA", i)
		}
		if want := filepath.Join(dirs[i], "ca", "mesosgate-ca.pem"); src.CAFile() != want {
			t.Errorf("gateway %d: CAFile %q, want %q", i, src.CAFile(), want)
		}
		if b, err := os.ReadFile(src.CAFile()); err != nil || !bytes.Equal(b, ca.CertPEM()) {
			t.Errorf("gateway %d: the CA file holds %q, %v", i, b, err)
		}
		if found := findFiles(t, dirs[i], "key"); len(found) > 0 {
			t.Errorf("gateway %d: keys in the data directory: %q", i, found)
		}
		if a, b := src.Certificates(), srcs[0].Certificates(); len(a) != 2 || a[0].SHA256 != b[0].SHA256 || a[1].SHA256 != b[1].SHA256 {
			t.Errorf("gateway %d serves other certificates than gateway 0: %+v", i, a)
		}
	}
	key, err := os.Stat(shared.Filename(storedCAKey))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Errorf("the CA's key in the storage: %v, %v", key, err)
	}
	if n := len(findFiles(t, shared.Path, ".crt")); n != 2 {
		t.Errorf("%d certificates issued for two names by three gateways", n)
	}
	_, addr := frontOf(t, srcs[2])
	if _, err := served(addr, "localhost", caPool(t, srcs[1].CAFile())); err != nil {
		t.Errorf("a client trusting one gateway's CA file refuses another's certificate: %v", err)
	}
}

// TestInternalSharedStorageCAFromDataDir: the first gateway to use a
// shared storage brings the CA it already has, so browsers trusting it
// trust every gateway; a gateway whose data directory holds another CA
// uses the shared one, leaves its own alone, and says so.
func TestInternalSharedStorageCAFromDataDir(t *testing.T) {
	first, other := t.TempDir(), t.TempDir()
	for _, dir := range []string{first, other} {
		src, _ := newInternal(t, InternalOptions{DataDir: dir, Names: []string{"localhost"}})
		src.Close()
	}
	own, err := LoadCAFiles(filepath.Join(first, "ca", "mesosgate-ca.pem"), filepath.Join(first, "ca", "mesosgate-ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	shared := &certmagic.FileStorage{Path: t.TempDir()}
	src, log := newInternal(t, InternalOptions{DataDir: first, Storage: shared, Names: []string{"localhost"}})
	if !src.CA().Cert.Equal(own.Cert) || src.CAFile() != filepath.Join(first, "ca", "mesosgate-ca.pem") || log.count("INFO", "internal CA moved into the shared storage") != 1 {
		t.Errorf("the first gateway's CA was not moved into the storage: CAFile %q, log %q", src.CAFile(), log.lines)
	}
	src, log = newInternal(t, InternalOptions{DataDir: other, Storage: shared, Names: []string{"localhost"}})
	if !src.CA().Cert.Equal(own.Cert) || src.CAFile() != "" || log.count("WARN", "the data directory holds another internal CA") != 1 {
		t.Errorf("a gateway with a CA of its own: CAFile %q, log %q", src.CAFile(), log.lines)
	}
}
