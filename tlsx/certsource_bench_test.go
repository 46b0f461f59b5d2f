package tlsx

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// The benchmarks of this file measure how long a gateway waits for its
// front certificates at start, per source, next to the bare cost of
// signing one leaf in the same run:
//
//	go test ./tlsx -run '^$' -bench 'CertSource' -benchtime 20x
//
// ACME against Pebble is slower and throttled by certmagic (10 orders per
// 10 seconds per CA and account); give it few iterations:
//
//	go test ./tlsx -run '^$' -bench 'ACMEIssuance' -benchtime 5x

// BenchmarkCertSourceInternal: NewInternalSource and Start for three names
// (two DNS names and 127.0.0.1), then Close.
func BenchmarkCertSourceInternal(b *testing.B) {
	opts := InternalOptions{
		Names:  []string{"localhost", "gateway.example.test"},
		IPs:    []netip.Addr{loopback},
		Logger: slog.New(slog.DiscardHandler),
	}
	start := func(b *testing.B, dataDir string) {
		o := opts
		o.DataDir = dataDir
		src, err := NewInternalSource(o)
		if err != nil {
			b.Fatal(err)
		}
		if err := src.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		if n := len(src.Certificates()); n != 3 {
			b.Fatalf("%d certificates in use, want 3", n)
		}
		src.Close()
	}
	b.Run("baseline: sign one leaf", func(b *testing.B) {
		ca, err := NewCA("bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := ca.Issue(LeafRequest{DNSNames: []string{"localhost"}, Validity: time.Hour}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first start: CA and 3 certificates", func(b *testing.B) {
		for b.Loop() {
			start(b, b.TempDir())
		}
	})
	b.Run("restart: CA and certificates from the data dir", func(b *testing.B) {
		dataDir := b.TempDir()
		start(b, dataDir)
		for b.Loop() {
			start(b, dataDir)
		}
	})
}

// BenchmarkACMEIssuance: a fresh data directory (new account) obtaining a
// certificate for a new domain from Pebble, from Start until it is in use.
func BenchmarkACMEIssuance(b *testing.B) {
	p := testsupport.StartPebble(b, testsupport.PebbleOptions{})
	i := 0
	for b.Loop() {
		i++
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		src, err := NewACMESource(ACMEOptions{
			DataDir: b.TempDir(), Directory: p.Directory, CARoot: p.HTTPSRoot,
			Domains: []string{fmt.Sprintf("gw%d.example.test", i)}, ChallengeAddr: inner.Addr().String(),
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := src.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		testsupport.Eventually(b, "the certificate", 10*time.Second, func() bool { return len(src.Certificates()) == 1 })
		src.Close()
		inner.Close()
	}
}
