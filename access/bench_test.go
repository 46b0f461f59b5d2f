package access

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"
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
