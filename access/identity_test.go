package access

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key}
}

// issue makes a leaf certificate for tmpl's names.
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// TestCertificateIdentity reads identities over a real TLS handshake: a
// verified client certificate gives its CN and SANs; one the server only
// requested (never verified) gives nothing.
func TestCertificateIdentity(t *testing.T) {
	ca, stranger := newTestCA(t), newTestCA(t)
	client := ca.issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "deploy-bot"}, EmailAddresses: []string{"bot@example.com"},
		DNSNames: []string{"ci.example.com"},
	}, x509.ExtKeyUsageClientAuth)
	foreign := stranger.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "deploy-bot"}}, x509.ExtKeyUsageClientAuth)

	tests := []struct {
		name   string
		auth   tls.ClientAuthType
		client *tls.Certificate
		want   string // CommonName, or "" for no identity
	}{
		{"verified", tls.VerifyClientCertIfGiven, &client, "deploy-bot"},
		{"none_given", tls.VerifyClientCertIfGiven, nil, ""},
		{"requested_not_verified", tls.RequestClientCert, &foreign, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan Identity, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, _ := CertificateIdentity(r.TLS)
				got <- id
			}))
			srv.TLS = &tls.Config{ClientAuth: tt.auth, ClientCAs: ca.pool()}
			srv.StartTLS()
			defer srv.Close()
			tr := srv.Client().Transport.(*http.Transport).Clone()
			if tt.client != nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{*tt.client}
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			id := <-got
			if id.CommonName != tt.want || (tt.want == "") != (id.Kind == Anonymous) {
				t.Fatalf("identity %+v, want CN %q", id, tt.want)
			}
			if tt.want != "" && (!slices.Equal(id.Emails, []string{"bot@example.com"}) || !slices.Equal(id.DNSNames, []string{"ci.example.com"})) {
				t.Fatalf("SANs %v %v", id.Emails, id.DNSNames)
			}
		})
	}
}
