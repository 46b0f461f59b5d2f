package tlsx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/certmagic"
)

// This file is where the internal CA lives: files under the data directory
// by default, or, when the source is given a shared certmagic.Storage
// (InternalOptions.Storage), in that storage, so that every gateway sharing
// it issues from one CA, which browsers trust once. Either way the CA is
// created once, under the storage's lock, by the first gateway to start.
// The key must stay private: anyone who holds it can make certificates
// that every browser trusting the CA accepts, for any name.

// The internal CA's files under the data directory; the key has mode 0600.
const (
	internalCADir     = "ca"
	internalCACert    = "mesosgate-ca.pem"
	internalCAKey     = "mesosgate-ca-key.pem"
	internalCALockKey = "mesosgate_internal_ca"
)

// The internal CA's keys in a shared storage. The storage keeps them as it
// keeps every certificate's key: certmagic's FileStorage with mode 0600,
// the ZooKeeper storage readable by its digest credentials only.
const (
	storedCACert = "mesosgate/ca/" + internalCACert
	storedCAKey  = "mesosgate/ca/" + internalCAKey
)

// caLockTimeout bounds the wait for another gateway creating the CA.
const caLockTimeout = time.Minute

// openInternalCA opens the internal CA, or creates it: in shared when it
// is set (then its certificate is also written under dataDir for
// operators, when that is safe), else in dataDir/ca, locking storage.
// It returns the CA and the file holding its certificate ("" when none
// could be written).
func openInternalCA(dataDir string, storage, shared certmagic.Storage, log *slog.Logger) (*CA, string, error) {
	if shared == nil {
		return openCAFiles(dataDir, storage, log)
	}
	ca, err := openStoredCA(shared, dataDir, log)
	if err != nil {
		return nil, "", err
	}
	return ca, exportCACert(dataDir, ca, log), nil
}

// openCAFiles loads the CA from dataDir/ca, or creates it there. The
// creation holds a storage lock so two gateways starting together on one
// directory do not mint two CAs.
func openCAFiles(dataDir string, storage certmagic.Storage, log *slog.Logger) (*CA, string, error) {
	dir := filepath.Join(dataDir, internalCADir)
	certFile, keyFile := filepath.Join(dir, internalCACert), filepath.Join(dir, internalCAKey)
	ca, err := loadInternalCA(certFile, keyFile, log)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, certFile, err
	}
	unlock, err := lockCA(storage, "the data directory")
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	if ca, err := loadInternalCA(certFile, keyFile, log); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, certFile, err // another gateway created it meanwhile
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create the internal CA directory: %w", err)
	}
	ca, err = mintInternalCA()
	if err != nil {
		return nil, "", err
	}
	if err := ca.WriteFiles(certFile, keyFile); err != nil {
		return nil, "", fmt.Errorf("write the internal CA: %w", err)
	}
	log.Info("internal CA created; its key must stay private", "ca_file", certFile, "key_file", keyFile, "not_after", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	return ca, certFile, nil
}

// lockCA takes the storage's lock on the internal CA's creation.
func lockCA(storage certmagic.Storage, what string) (unlock func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), caLockTimeout)
	defer cancel()
	if err := storage.Lock(ctx, internalCALockKey); err != nil {
		return nil, fmt.Errorf("lock %s to create the internal CA: %w", what, err)
	}
	return func() { storage.Unlock(context.Background(), internalCALockKey) }, nil
}

// mintInternalCA makes a new internal CA named after the machine and day.
func mintInternalCA() (*CA, error) {
	host, _ := os.Hostname()
	return NewCA("mesosgate CA "+host+" "+time.Now().UTC().Format("2006-01-02"), 0)
}

// loadInternalCA reads an existing CA; fs.ErrNotExist when there is none.
// It warns about a key others can read and a CA about to expire.
func loadInternalCA(certFile, keyFile string, log *slog.Logger) (*CA, error) {
	_, certErr := os.Stat(certFile)
	keyInfo, keyErr := os.Stat(keyFile)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, fs.ErrNotExist
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("the internal CA's key %s is missing next to %s: restore it, or remove %s to mint a new CA (which browsers must then trust instead)", keyFile, certFile, filepath.Dir(certFile))
	case errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("the internal CA's certificate %s is missing next to %s: restore it, or remove %s to mint a new CA (which browsers must then trust instead)", certFile, keyFile, filepath.Dir(certFile))
	}
	ca, err := LoadCAFiles(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: repair the files, or remove %s to mint a new CA", err, filepath.Dir(certFile))
	}
	if keyInfo != nil && keyInfo.Mode().Perm()&0o077 != 0 {
		log.Warn("the internal CA's key can be read by other users; anyone who can read it can impersonate any site to browsers trusting the CA: run chmod 600 on it",
			"key_file", keyFile, "mode", fmt.Sprintf("%04o", keyInfo.Mode().Perm()))
	}
	warnExpiry(ca, certFile, log)
	return ca, nil
}

// warnExpiry warns about a CA about to expire.
func warnExpiry(ca *CA, where string, log *slog.Logger) {
	if left := time.Until(ca.Cert.NotAfter); left < 30*24*time.Hour {
		log.Warn("the internal CA expires soon: remove it to mint a new one, then trust the new one", "ca", where, "not_after", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
}

// openStoredCA loads the CA from the shared storage, or creates it there
// under the storage's lock. The first gateway to share a storage brings
// the CA it has in dataDir/ca, if any, so browsers that trust it go on
// trusting the gateways; otherwise a new CA is minted.
func openStoredCA(storage certmagic.Storage, dataDir string, log *slog.Logger) (*CA, error) {
	ca, err := loadStoredCA(storage, log)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, err
	}
	unlock, err := lockCA(storage, "the shared storage")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ca, err := loadStoredCA(storage, log); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, err // another gateway created it meanwhile
	}
	ca, from := localCA(dataDir, log)
	if ca == nil {
		if ca, err = mintInternalCA(); err != nil {
			return nil, err
		}
	}
	if err := storeCA(storage, ca); err != nil {
		return nil, err
	}
	if from != "" {
		log.Info("internal CA moved into the shared storage: every gateway sharing it issues from it", "from", from, "storage", storedCACert)
	} else {
		log.Info("internal CA created in the shared storage; its key must stay private", "storage", storedCAKey, "not_after", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ca, nil
}

// loadStoredCA reads the CA from the storage; fs.ErrNotExist when there
// is none (a key without its certificate is a creation cut short, made
// again).
func loadStoredCA(storage certmagic.Storage, log *slog.Logger) (*CA, error) {
	ctx, cancel := context.WithTimeout(context.Background(), caLockTimeout)
	defer cancel()
	certPEM, err := storage.Load(ctx, storedCACert)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fs.ErrNotExist
		}
		return nil, fmt.Errorf("read the internal CA from the shared storage: %w", err)
	}
	keyPEM, err := storage.Load(ctx, storedCAKey)
	if err != nil {
		return nil, fmt.Errorf("read the internal CA's key (%s) from the shared storage: %w; restore it, or delete %s there to mint a new CA", storedCAKey, err, storedCACert)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("the internal CA in the shared storage (%s): %w; repair it, or delete it there to mint a new CA", storedCACert, err)
	}
	warnExpiry(ca, storedCACert, log)
	return ca, nil
}

// storeCA writes the CA to the storage, the key first: a certificate is
// never there without its key.
func storeCA(storage certmagic.Storage, ca *CA) error {
	ctx, cancel := context.WithTimeout(context.Background(), caLockTimeout)
	defer cancel()
	key, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := storage.Store(ctx, storedCAKey, key); err != nil {
		return fmt.Errorf("store the internal CA's key in the shared storage: %w", err)
	}
	if err := storage.Store(ctx, storedCACert, ca.CertPEM()); err != nil {
		return fmt.Errorf("store the internal CA in the shared storage: %w", err)
	}
	return nil
}

// localCA returns the CA in dataDir/ca and where it is, or nil when there
// is none that loads.
func localCA(dataDir string, log *slog.Logger) (*CA, string) {
	if dataDir == "" {
		return nil, ""
	}
	dir := filepath.Join(dataDir, internalCADir)
	ca, err := loadInternalCA(filepath.Join(dir, internalCACert), filepath.Join(dir, internalCAKey), log)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("not moving the internal CA of the data directory into the shared storage", "err", err)
		}
		return nil, ""
	}
	return ca, dir
}

// exportCACert writes the shared CA's certificate (never its key) to
// dataDir/ca/mesosgate-ca.pem, the file operators hand to browsers, and
// returns its path. A data directory holding the key of another CA is
// left alone, with a warning: "" is returned then, and without dataDir.
func exportCACert(dataDir string, ca *CA, log *slog.Logger) string {
	if dataDir == "" {
		return ""
	}
	dir := filepath.Join(dataDir, internalCADir)
	certFile, keyFile := filepath.Join(dir, internalCACert), filepath.Join(dir, internalCAKey)
	if _, err := os.Stat(keyFile); err == nil {
		if local, err := LoadCAFiles(certFile, keyFile); err == nil && local.Cert.Equal(ca.Cert) {
			return certFile
		}
		log.Warn("the data directory holds another internal CA than the shared storage's, which the gateway uses: trust the shared one (remove the data directory's to have its certificate written there)",
			"ca_dir", dir)
		return ""
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Warn("cannot write the shared internal CA's certificate", "err", err)
		return ""
	}
	if err := WriteFileAtomic(certFile, ca.CertPEM(), 0o644); err != nil {
		log.Warn("cannot write the shared internal CA's certificate", "err", err)
		return ""
	}
	return certFile
}
