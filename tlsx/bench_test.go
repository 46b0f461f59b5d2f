package tlsx

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// The benchmarks measure full handshakes (no session resumption: the
// client keeps no session cache) over loopback TCP, client and server in
// one process, one connection at a time. Run them with
//
//	go test ./tlsx -run '^$' -bench . -benchtime 2s
//
// and read handshakes/s, and the downgrade listener's added-ns/conn and
// ratio, from the output.

// BenchmarkHandshake: handshakes per second of the accepting side's
// configuration (ServerConfig) with an ECDSA P-256 and an RSA 2048
// certificate, over TLS 1.2 and TLS 1.3.
func BenchmarkHandshake(b *testing.B) {
	p := newTestPKI(b)
	for _, key := range []struct {
		name string
		bits int
	}{{"ECDSA-P256", 0}, {"RSA-2048", 2048}} {
		certFile, keyFile := p.leaf(b, p.ca, key.name, LeafRequest{DNSNames: []string{"localhost"}, RSABits: key.bits})
		c := mustContext(b, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile, EnableTLSv13: On}, Options{})
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			b.Run(key.name+"/"+tls.VersionName(version), func(b *testing.B) {
				inner := listen(b)
				addr := serveEcho(b, tls.NewListener(inner, c.ServerConfig()))
				client := &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}
				for b.Loop() {
					if err := echoOnce(addr, client); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			})
		}
	}
}

// BenchmarkDowngradeOverhead: the cost a downgrade listener adds to each
// connection (a goroutine, a deadline, the peek and its replay) next to
// the listener it replaces, measured side by side: every iteration makes
// one connection to each, in alternating order, with the same handshake
// (ECDSA P-256, TLS 1.3). "plain" compares plain connections with a bare TCP
// listener.
func BenchmarkDowngradeOverhead(b *testing.B) {
	p := newTestPKI(b)
	certFile, keyFile := p.leaf(b, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	c := mustContext(b, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile, EnableTLSv13: On}, Options{})
	cfg := c.ServerConfig()
	for _, tt := range []struct {
		name     string
		baseline func(net.Listener) net.Listener
		client   *tls.Config // nil: plain
	}{
		{"tls", func(l net.Listener) net.Listener { return tls.NewListener(l, cfg) }, &tls.Config{InsecureSkipVerify: true}},
		{"plain", func(l net.Listener) net.Listener { return l }, nil},
	} {
		b.Run(tt.name, func(b *testing.B) {
			base := serveEcho(b, tt.baseline(listen(b)))
			down := serveEcho(b, NewDowngradeListener(listen(b), cfg, 10*time.Second))
			var baseTime, downTime time.Duration
			timed := func(addr string) time.Duration {
				start := time.Now()
				if err := echoOnce(addr, tt.client); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			// The order alternates: the connection made second shares the
			// CPU with the first one's teardown.
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					baseTime += timed(base)
					downTime += timed(down)
				} else {
					downTime += timed(down)
					baseTime += timed(base)
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(baseTime.Nanoseconds())/n, "baseline-ns/conn")
			b.ReportMetric(float64(downTime.Nanoseconds())/n, "downgrade-ns/conn")
			b.ReportMetric(float64((downTime-baseTime).Nanoseconds())/n, "added-ns/conn")
			b.ReportMetric(float64(downTime)/float64(baseTime), "ratio")
		})
	}
}

func listen(b *testing.B) net.Listener {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// serveEcho accepts until the benchmark ends; on each connection it reads
// one byte and writes it back (which completes a TLS handshake first).
func serveEcho(b *testing.B, l net.Listener) string {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 1)
				if _, err := io.ReadFull(conn, buf); err == nil {
					conn.Write(buf)
				}
			}()
		}
	}()
	b.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// echoOnce connects (with TLS when cfg is set), sends a byte and waits for
// it to come back.
func echoOnce(addr string, cfg *tls.Config) error {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	conn := raw
	if cfg != nil {
		conn = tls.Client(raw, cfg)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{'G'}); err != nil {
		return err
	}
	_, err = io.ReadFull(conn, make([]byte, 1))
	return err
}
