package access

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// This file seals the gateway's cookies: AES-256-GCM under keys derived
// with HKDF-SHA256 from the session key files, so a cookie can be neither
// read nor changed by the browser, and every gateway instance given the
// same files opens the cookies the others sealed.
//
// A sealed value is base64url (no padding) of
//
//	version (1 byte, 1) | nonce (12 random bytes) | ciphertext and GCM tag (16 bytes)
//
// and its additional data binds it to one use: the cookie's name, the
// issuer and the client id, so a login cookie is no session cookie and a
// session of another OpenID Provider is no session here.

// MinKeySize is the fewest bytes a session key file may hold.
const MinKeySize = 32

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

// errUnsealable is a value no key opens: tampered, foreign or truncated.
var errUnsealable = errors.New("the value was sealed by no key of this gateway, or was changed")

// keyring seals with its first key and opens with any.
type keyring struct {
	aeads []cipher.AEAD
}

// String hides the keys.
func (k *keyring) String() string { return fmt.Sprintf("keyring(%d keys)", len(k.aeads)) }

// LogValue hides the keys.
func (k *keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// readKeyFiles reads the session key files; each error names the file and
// says how to make a good one. The key material is never shown.
func readKeyFiles(setting string, files []string) ([][]byte, error) {
	var (
		keys [][]byte
		errs []error
	)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: read %w", setting, err))
			continue
		}
		b = trimText(b)
		if len(b) < MinKeySize {
			errs = append(errs, fmt.Errorf("%s %q holds %d bytes, fewer than the %d random bytes a session key needs: make one with `head -c 32 /dev/urandom > %s`",
				setting, f, len(b), MinKeySize, f))
			continue
		}
		keys = append(keys, b)
	}
	return keys, errors.Join(errs...)
}

// trimText drops the whitespace that ends a key written as text: `openssl
// rand -base64 32 > FILE` ends in a newline, which adds no randomness.
// Random bytes (`head -c 32 /dev/urandom`, as the error says) are kept
// whole: one in 64 such keys ends in a byte that reads as
// whitespace, and trimming it made the gateway refuse the very key its
// message told the operator to make (found by e2e
// TestLoginCallbackRefusals: "holds 31 bytes").
func trimText(b []byte) []byte {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return b
		}
	}
	return []byte(strings.TrimRight(string(b), "\r\n\t "))
}

// newKeyring derives one AES-256-GCM key per secret for purpose.
func newKeyring(secrets [][]byte, purpose string) (*keyring, error) {
	k := &keyring{}
	for _, s := range secrets {
		key, err := hkdf.Key(sha256.New, s, nil, "mesosgate "+purpose+" v1", 32)
		if err != nil {
			return nil, fmt.Errorf("derive the %s key: %w", purpose, err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("derive the %s key: %w", purpose, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("derive the %s key: %w", purpose, err)
		}
		k.aeads = append(k.aeads, aead)
	}
	return k, nil
}

// sealedLen is the length of the sealed form of n bytes.
func sealedLen(n int) int {
	return base64.RawURLEncoding.EncodedLen(1 + 12 + n + 16)
}

// seal encrypts plain with the first key.
func (k *keyring) seal(plain, ad []byte) string {
	a := k.aeads[0]
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(plain)+a.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	out = a.Seal(out, out[1:], plain, ad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open decrypts a sealed value with whichever key sealed it.
func (k *keyring) open(sealed string, ad []byte) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < 1+12+16 || b[0] != sealVersion {
		return nil, errUnsealable
	}
	nonce, box := b[1:13], b[13:]
	for _, a := range k.aeads {
		if plain, err := a.Open(box[:0:0], nonce, box, ad); err == nil {
			return plain, nil
		}
	}
	return nil, errUnsealable
}
