// Package tlsx is mesosgate's libprocess-compatible SSL transport.
//
// It turns the settings a libprocess process reads from its LIBPROCESS_SSL_*
// (or older SSL_*) environment into Go TLS configurations with the same
// meaning: a server side (what a member, or the gateway's front, accepts) and
// a client side (how a process connects to a member). It also owns the
// downgrade listener, which serves TLS and plain HTTP on one port the way a
// libprocess process with SUPPORT_DOWNGRADE does, and the certificate
// sources. It knows nothing of HTTP routing.
//
// The semantics are libprocess's (3rdparty/libprocess/src/openssl.cpp and
// src/ssl/openssl_socket.cpp) on OpenSSL, checked against the openssl and
// curl binaries in the tests. Where tlsx differs, it is on purpose:
//
//   - CIPHERS empty means a modern forward-secret AEAD list, not
//     libprocess's RSA key exchange list; the connecting side adds the two
//     suites a stock member accepts (TLS_RSA_WITH_AES_{128,256}_CBC_SHA).
//     Names are mapped one by one: OpenSSL's aliases (HIGH, aRSA, ...) are
//     not expanded, and Go ignores the order (OpenSSL's server prefers its
//     own, SSL_OP_CIPHER_SERVER_PREFERENCE).
//   - A disabled version between two enabled ones: the accepting side
//     refuses it exactly as OpenSSL's server does; the connecting side
//     offers it too, where OpenSSL's client would drop every version above
//     it (ENABLE_TLS_V1_0=true alone would leave a libprocess client with
//     TLS 1.0 only). A warning says so.
//   - SSLv3 cannot be enabled (Go has none); ENABLE_SSL_V3=true is an
//     error.
//   - CA_FILE and CA_DIR that do not load are an error only when something
//     is verified; libprocess does not read them otherwise, so then they are
//     a warning.
//   - Encrypted keys are read with a passphrase file (libprocess would
//     prompt on a terminal); cert, key and CA files are reloaded when they
//     change (libprocess reads them once).
//   - A connection on a downgrade port that sends nothing is closed at a
//     deadline (libprocess waits forever), and up to six bytes are awaited
//     before classifying (libprocess peeks once and may see fewer).
//   - The connecting side sends SNI when it knows the member's name.
//   - VERIFY_DEPTH cannot be 0 (zero means the default of 4 in Settings).
package tlsx
