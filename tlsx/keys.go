package tlsx

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// errWrongPassphrase is returned for an encrypted key that does not decrypt
// with the passphrase given.
var errWrongPassphrase = errors.New("the passphrase does not decrypt this key: check the passphrase file")

// errNeedPassphrase is returned for an encrypted key without a passphrase.
var errNeedPassphrase = errors.New("the key is encrypted: give its passphrase in a file with --ssl-key-passphrase-file (MESOSGATE_SSL_KEY_PASSPHRASE_FILE)")

// parsePrivateKey reads the first private key of a PEM file: PKCS#1 RSA,
// SEC 1 EC or PKCS#8, each possibly encrypted — the legacy "Proc-Type:
// 4,ENCRYPTED" PEM that `openssl genrsa -des3 -traditional` writes, or the
// PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2) that OpenSSL 3's `genrsa -des3`
// writes.
func parsePrivateKey(keyPEM, pass []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("holds no PEM private key: give a PEM key (PKCS#1, PKCS#8 or EC)")
		}
		switch block.Type {
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
			der := block.Bytes
			//lint:ignore SA1019 legacy encrypted PEM is what OpenSSL's -traditional writes; we read it, never write it.
			if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
				if len(pass) == 0 {
					return nil, errNeedPassphrase
				}
				var err error
				//lint:ignore SA1019 see above.
				if der, err = x509.DecryptPEMBlock(block, pass); err != nil { //nolint:staticcheck
					return nil, errWrongPassphrase
				}
				key, err := parseDERKey(block.Type, der)
				if err != nil {
					// Legacy PEM encryption has no integrity check: a
					// wrong passphrase often decrypts to garbage.
					return nil, errWrongPassphrase
				}
				return key, nil
			}
			return parseDERKey(block.Type, der)
		case "ENCRYPTED PRIVATE KEY":
			if len(pass) == 0 {
				return nil, errNeedPassphrase
			}
			der, err := decryptPKCS8(block.Bytes, pass)
			if err != nil {
				return nil, err
			}
			key, err := parseDERKey("PRIVATE KEY", der)
			if err != nil {
				return nil, errWrongPassphrase
			}
			return key, nil
		}
	}
}

// parseDERKey parses an unencrypted key of the given PEM type.
func parseDERKey(pemType string, der []byte) (crypto.Signer, error) {
	var key any
	var err error
	switch pemType {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	default:
		key, err = x509.ParsePKCS8PrivateKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", pemType, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T: use an RSA, ECDSA or Ed25519 key", key)
	}
	return signer, nil
}

// publicKeysEqual reports whether two public keys are the same key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	switch a := a.(type) {
	case *rsa.PublicKey:
		return a.Equal(b)
	case *ecdsa.PublicKey:
		return a.Equal(b)
	case ed25519.PublicKey:
		return a.Equal(b)
	}
	return false
}

// PKCS#5 v2 (RFC 8018) object identifiers.
var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

// maxPBKDF2Iterations bounds the work an encrypted key can ask for (about
// a second): OpenSSL writes 2048 iterations, cautious tools a few hundred
// thousand.
const maxPBKDF2Iterations = 1 << 20

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                 `asn1:"optional"`
	PRF            algorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts a PBES2-encrypted PKCS#8 key with PBKDF2 and
// AES-CBC or 3DES-CBC: what OpenSSL 1.1 and 3 write. The older PBES1
// schemes (MD5/SHA1 with DES or RC2) are refused with a way out.
func decryptPKCS8(der, pass []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("parse ENCRYPTED PRIVATE KEY: %w", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("encrypted with %v, which is not PBES2: re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("parse PBES2 parameters: %w", err)
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("key derivation %v is not PBKDF2: re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", params.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("parse PBKDF2 parameters: %w", err)
	}
	prf, err := pbkdf2PRF(kdf.PRF.Algorithm)
	if err != nil {
		return nil, err
	}
	newCipher, keyLen, blockSize, err := pbes2Cipher(params.EncryptionScheme.Algorithm)
	if err != nil {
		return nil, err
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("parse the cipher's IV: %w", err)
	}
	data := info.EncryptedData
	// Cheap checks first: the key derivation is deliberately slow.
	if len(iv) != blockSize || len(data) == 0 || len(data)%blockSize != 0 {
		return nil, errors.New("malformed encrypted key: bad IV or data length")
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("PBKDF2 key length %d does not fit the cipher's %d", kdf.KeyLength, keyLen)
	}
	if kdf.IterationCount <= 0 || kdf.IterationCount > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iteration count %d is out of range (1 to %d)", kdf.IterationCount, maxPBKDF2Iterations)
	}
	key, err := pbkdf2.Key(prf, string(pass), kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("derive the key: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
	// PKCS#7 padding: a wrong passphrase almost always breaks it.
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > block.BlockSize() {
		return nil, errWrongPassphrase
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, errWrongPassphrase
		}
	}
	return plain[:len(plain)-pad], nil
}

// pbkdf2PRF maps a PBKDF2 PRF identifier to its hash; absent is SHA-1.
func pbkdf2PRF(oid asn1.ObjectIdentifier) (func() hash.Hash, error) {
	switch {
	case len(oid) == 0 || oid.Equal(oidHMACWithSHA1):
		return sha1.New, nil
	case oid.Equal(oidHMACWithSHA224):
		return sha256.New224, nil
	case oid.Equal(oidHMACWithSHA256):
		return sha256.New, nil
	case oid.Equal(oidHMACWithSHA384):
		return sha512.New384, nil
	case oid.Equal(oidHMACWithSHA512):
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unsupported PBKDF2 PRF %v: re-encrypt the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", oid)
}

// pbes2Cipher maps a PBES2 encryption scheme to its block cipher, key
// length and block size.
func pbes2Cipher(oid asn1.ObjectIdentifier) (newCipher func([]byte) (cipher.Block, error), keyLen, blockSize int, err error) {
	switch {
	case oid.Equal(oidAES128CBC):
		return aes.NewCipher, 16, aes.BlockSize, nil
	case oid.Equal(oidAES192CBC):
		return aes.NewCipher, 24, aes.BlockSize, nil
	case oid.Equal(oidAES256CBC):
		return aes.NewCipher, 32, aes.BlockSize, nil
	case oid.Equal(oidDESEDE3CBC):
		return des.NewTripleDESCipher, 24, des.BlockSize, nil
	}
	return nil, 0, 0, fmt.Errorf("unsupported key encryption %v: re-encrypt the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", oid)
}
