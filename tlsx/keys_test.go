package tlsx

import (
	"bytes"
	"crypto"
	"strings"
	"testing"
)

// FuzzKeyPair feeds arbitrary certificate and key files and passphrases to
// the PEM parsers (CERT_FILE/KEY_FILE with KeyPassphraseFile, and CA
// bundles). Seeds under testdata/fuzz/FuzzKeyPair hold every key format
// OpenSSL writes (PKCS#1, SEC 1, PKCS#8, Ed25519, legacy encrypted PEM,
// PKCS#8 PBES2 with AES and 3DES, PBES1). Whatever the input: no panic, a
// loaded pair always belongs together, and the passphrase never appears in
// an error.
func FuzzKeyPair(f *testing.F) {
	f.Fuzz(func(t *testing.T, certPEM, keyPEM, pass []byte) {
		c := &Context{}
		kp, err := c.keyPairFromPEM(certPEM, keyPEM, pass)
		if err == nil {
			signer, ok := kp.PrivateKey.(crypto.Signer)
			if !ok || kp.Leaf == nil || !publicKeysEqual(kp.Leaf.PublicKey, signer.Public()) {
				t.Fatal("a key pair loaded whose key does not match its certificate")
			}
		}
		// A passphrase with a byte no message text holds (messages quote
		// what they show) must not appear in an error.
		if err != nil && bytes.ContainsFunc(pass, func(r rune) bool { return r >= 0x80 || r < 0x20 }) && strings.Contains(err.Error(), string(pass)) {
			t.Fatalf("the error shows the passphrase: %v", err)
		}
		parseCertificates(certPEM)
	})
}
