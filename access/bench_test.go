package access

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// BenchmarkClassifyGet is the cost every proxied GET pays.
func BenchmarkClassifyGet(b *testing.B) {
	c := Classifier{}
	req := Request{Method: "GET", Path: "/slave(1)/state", Member: Agent}
	b.ReportAllocs()
	for b.Loop() {
		if op, _ := c.Classify(context.Background(), req); !op.Read {
			b.Fatal("not a read")
		}
	}
}

// BenchmarkClassifyGetState is a POST /api/v1 GET_STATE in JSON, its body
// read, classified and replayed, under a request context (which makes the
// body be read on a goroutine bounded by it).
func BenchmarkClassifyGetState(b *testing.B) {
	c := Classifier{}
	body := []byte(`{"type":"GET_STATE"}`)
	h := http.Header{"Content-Type": {mediaJSON}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r := bytes.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		op, rest := c.Classify(ctx, Request{Method: "POST", Path: "/api/v1", Header: h, Body: io.NopCloser(r), Member: Master})
		if !op.Read {
			b.Fatal("not a read")
		}
		io.Copy(io.Discard, rest)
	}
}

// BenchmarkOpenSession is the cost of a signed-in browser's request:
// opening and decoding its sealed session cookie.
func BenchmarkOpenSession(b *testing.B) {
	k, err := newKeyring([][]byte{bytes.Repeat([]byte{7}, 32)}, "session cookie")
	if err != nil {
		b.Fatal(err)
	}
	a := &Access{sessionKeys: k, sessionAD: []byte(SessionCookie + "\x00https://idp.example.com\x00gw")}
	a.cfg.SessionLifetime = time.Hour
	s := session{
		Subject: "248289761001", Email: "jane.doe@example.com", Name: "Jane Doe",
		Groups: []string{"engineering", "design", "ops"}, Start: time.Now().Unix(), Expiry: time.Now().Add(time.Hour).Unix(),
		Refresh: string(bytes.Repeat([]byte("r"), 600)), IDToken: string(bytes.Repeat([]byte("i"), 900)),
	}
	v, _, err := a.sealSession(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(v)), "cookie-bytes")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.openSession(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecide is the policy check of one read, by how the client
// identifies itself: anonymous on a gateway without authentication (the
// default), a signed-in browser's sealed session cookie (a realistic one,
// with refresh and ID tokens: opened, decoded, matched against the
// grants), and an API client's bearer token (an RS256 ID token of the
// provider: signature, issuer, audience, expiry). The provider (mockoidc)
// is contacted once, by New; its keys are cached from the first
// verification on.
func BenchmarkDecide(b *testing.B) {
	op := testsupport.StartOIDC(b)
	tr := &http.Transport{}
	b.Cleanup(tr.CloseIdleConnections)
	key := filepath.Join(b.TempDir(), "session.key")
	if err := os.WriteFile(key, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		b.Fatal(err)
	}
	oidc, err := New(context.Background(), Config{
		OIDC:            OIDC{Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: Secret(op.ClientSecret), RedirectURL: "https://gw.example.com/gateway/callback"},
		SessionKeyFiles: []string{key},
		Viewers:         []string{"group:engineering"},
		Operators:       []string{"group:ops"},
		HTTPClient:      &http.Client{Transport: tr},
	})
	if err != nil {
		b.Fatal(err)
	}
	open, err := New(context.Background(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	sealed, _, err := oidc.sealSession(session{
		Subject: "248289761001", Email: "jane.doe@example.com", Name: "Jane Doe",
		Groups: []string{"engineering", "design"}, Start: now.Unix(), Expiry: now.Add(time.Hour).Unix(),
		Refresh: string(bytes.Repeat([]byte("r"), 600)), IDToken: string(bytes.Repeat([]byte("i"), 900)),
	})
	if err != nil {
		b.Fatal(err)
	}
	token, err := op.Keypair.SignJWT(jwt.MapClaims{
		"iss": op.Issuer(), "aud": op.ClientID, "sub": "ci", "email": "ci@example.com", "groups": []string{"engineering"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		a    *Access
		h    http.Header
	}{
		{"anonymous", open, http.Header{}},
		{"session", oidc, http.Header{"Cookie": {"theme=dark; " + SessionCookie + "=" + sealed}}},
		{"bearer", oidc, http.Header{"Authorization": {"Bearer " + token}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "https://gw.example.com/master/state", nil)
			r.Header = c.h
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				if d := c.a.Decide(w, r, Operation{Read: true}); !d.Allowed {
					b.Fatalf("%+v", d)
				}
			}
		})
	}
}
