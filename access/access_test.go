package access

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// TestNewRefusesBadSettings checks that each bad setting is one clear
// line naming it, and that no error shows the client secret.
func TestNewRefusesBadSettings(t *testing.T) {
	op := startProvider(t)
	good := func() Config {
		return Config{
			OIDC: OIDC{Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: Secret(op.ClientSecret),
				RedirectURL: "https://gw.example.com/gateway/callback"},
			SessionKeyFiles: []string{keyFile(t, 2, 32)},
			Viewers:         []string{"*"},
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name  string
		edit  func(*Config)
		names []string // what the error must mention
	}{
		{"issuer_unreachable", func(c *Config) { c.OIDC.Issuer = closed }, []string{"--oidc-issuer", closed, "discovery document"}},
		{"issuer_not_a_url", func(c *Config) { c.OIDC.Issuer = "accounts.example.com" }, []string{"--oidc-issuer", "not an http(s) URL"}},
		{"client_id_missing", func(c *Config) { c.OIDC.ClientID = "" }, []string{"--oidc-client-id"}},
		{"redirect_missing", func(c *Config) { c.OIDC.RedirectURL = "" }, []string{"--oidc-redirect-url"}},
		{"redirect_relative", func(c *Config) { c.OIDC.RedirectURL = "/gateway/callback" }, []string{"--oidc-redirect-url", "absolute"}},
		{"client_without_issuer", func(c *Config) { c.OIDC.Issuer, c.Viewers = "", nil }, []string{"--oidc-client-id", "need --oidc-issuer"}},
		{"no_session_key", func(c *Config) { c.SessionKeyFiles = nil }, []string{"--session-key-file", "head -c 32 /dev/urandom"}},
		{"session_key_missing", func(c *Config) { c.SessionKeyFiles = []string{filepath.Join(t.TempDir(), "nope")} }, []string{"--session-key-file", "nope", "no such file"}},
		{"session_key_short", func(c *Config) { c.SessionKeyFiles = []string{keyFile(t, 3, 31)} }, []string{"--session-key-file", "31 bytes", "32"}},
		{"viewers_name_nobody", func(c *Config) { c.Viewers = []string{" "} }, []string{"--viewers names nobody"}},
		{"bad_operator_entry", func(c *Config) { c.Operators = []string{"ops"} }, []string{"--operators", `"ops"`, "group:ops"}},
		{"no_roles_with_auth", func(c *Config) { c.Viewers = nil }, []string{"no one has a role", "--viewers", "--operators"}},
		{"allow_writes_with_auth", func(c *Config) { c.AllowWrites = true }, []string{"--allow-writes", "--operators"}},
		{"roles_without_auth", func(c *Config) { *c = Config{Operators: []string{"group:ops"}} }, []string{"--oidc-issuer", "--client-ca"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.edit(&cfg)
			_, err := New(context.Background(), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, n := range tt.names {
				if !strings.Contains(msg, n) {
					t.Errorf("error %q does not mention %q", msg, n)
				}
			}
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("more than one line for one problem: %q", msg)
			}
			if strings.Contains(msg, op.ClientSecret) {
				t.Errorf("the client secret is in the error: %q", msg)
			}
		})
	}
	t.Run("all_problems_at_once", func(t *testing.T) {
		cfg := good()
		cfg.OIDC.ClientID, cfg.SessionKeyFiles, cfg.Operators = "", nil, []string{"ops"}
		_, err := New(context.Background(), cfg)
		if err == nil || strings.Count(err.Error(), "\n") != 2 {
			t.Fatalf("want three lines, got %v", err)
		}
	})
}

// TestDecideWithoutAuthentication is the gateway before issue 13's
// settings: everyone reads, nobody writes unless --allow-writes, and then
// only from the gateway's own pages.
func TestDecideWithoutAuthentication(t *testing.T) {
	teardown := Operation{Reason: "the method POST may change the member"}
	tests := []struct {
		name        string
		allowWrites bool
		op          Operation
		origin      string
		allowed     bool
		reason      string
	}{
		{"read", false, Operation{Read: true}, "", true, ""},
		{"write_refused", false, teardown, "", false, "--allow-writes"},
		{"write_allowed", true, teardown, "", true, ""},
		{"write_allowed_own_origin", true, teardown, "https://gw.example.com", true, ""},
		{"write_foreign_origin", true, teardown, "https://evil.example", false, "another site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(context.Background(), Config{AllowWrites: tt.allowWrites, Origins: []string{"https://gw.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "https://gw.example.com/master/teardown", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			d := a.Decide(httptest.NewRecorder(), r, tt.op)
			if d.Allowed != tt.allowed || !strings.Contains(d.Reason, tt.reason) || (!d.Allowed && d.Status != 403) {
				t.Fatalf("got %+v", d)
			}
			if d.Identity.Kind != Anonymous {
				t.Fatalf("identity %v", d.Identity)
			}
		})
	}
}

// TestDecideClientCertificates grants roles to certificate identities.
func TestDecideClientCertificates(t *testing.T) {
	ca := newTestCA(t)
	a, err := New(context.Background(), Config{
		ClientCertificates: true, Viewers: []string{"dns:viewer.example.com"}, Operators: []string{"cn:deploy-bot"},
	})
	if err != nil {
		t.Fatal(err)
	}
	state := func(tmpl *x509.Certificate) *tls.ConnectionState {
		c := ca.issue(t, tmpl, x509.ExtKeyUsageClientAuth)
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf, ca.cert}}}
	}
	write := Operation{Reason: "the operator call TEARDOWN changes the cluster", Call: "TEARDOWN"}
	tests := []struct {
		name    string
		cs      *tls.ConnectionState
		op      Operation
		allowed bool
		status  int
		reason  string
	}{
		{"operator_writes", state(&x509.Certificate{Subject: pkix.Name{CommonName: "deploy-bot"}}), write, true, 0, ""},
		{"viewer_reads", state(&x509.Certificate{DNSNames: []string{"viewer.example.com"}}), Operation{Read: true}, true, 0, ""},
		{"viewer_writes", state(&x509.Certificate{Subject: pkix.Name{CommonName: "v"}, DNSNames: []string{"viewer.example.com"}}), write, false, 403, "add cn:v to --operators"},
		{"stranger", state(&x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}}), Operation{Read: true}, false, 403, "no role: add cn:stranger to --viewers or --operators"},
		{"no_certificate", nil, Operation{Read: true}, false, 403, "present a client certificate"},
		{"unverified_certificate", &tls.ConnectionState{}, Operation{Read: true}, false, 403, "present a client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = tt.cs
			d := a.Decide(httptest.NewRecorder(), r, tt.op)
			if d.Allowed != tt.allowed || d.Status != tt.status || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("got %+v", d)
			}
		})
	}
}

// TestSessionCookies opens what this gateway sealed, and nothing else: a
// tampered value, a value sealed with another key, a login cookie passed
// as a session. A rotated key set opens cookies of the old key.
func TestSessionCookies(t *testing.T) {
	op := startProvider(t)
	oldKey, newKey := keyFile(t, 4, 32), keyFile(t, 5, 40)
	mk := func(files ...string) *Access {
		a, err := New(context.Background(), Config{
			OIDC:            OIDC{Issuer: op.Issuer(), ClientID: op.ClientID, RedirectURL: "https://gw.example.com/gateway/callback"},
			SessionKeyFiles: files, Viewers: []string{"*"}, Now: testNow,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	old, rotated, stranger := mk(oldKey), mk(newKey, oldKey), mk(newKey)
	s := session{Subject: "u1", Email: "a@example.com", Start: testNow().Unix(), Expiry: testNow().Add(time.Hour).Unix()}
	byOld, _, err := old.sealSession(s)
	if err != nil {
		t.Fatal(err)
	}
	byRotated, _, _ := rotated.sealSession(s)
	login := old.loginKeys.seal([]byte(`{"s":"u1"}`), old.loginAD)
	tests := []struct {
		name  string
		a     *Access
		value string
		ok    bool
	}{
		{"own", old, byOld, true},
		{"rotated_opens_old", rotated, byOld, true},
		{"rotated_seals_with_new", stranger, byRotated, true},
		{"old_cannot_open_new", old, byRotated, false},
		{"foreign_key", stranger, byOld, false},
		{"tampered", old, testsupport.Flip(byOld), false},
		{"truncated", old, byOld[:len(byOld)-4], false},
		{"login_cookie_as_session", old, login, false},
		{"garbage", old, "not base64 !", false},
		{"empty", old, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: tt.value})
			w := httptest.NewRecorder()
			d := tt.a.Decide(w, r, Operation{Read: true})
			if d.Allowed != tt.ok {
				t.Fatalf("got %+v", d)
			}
			if !tt.ok && tt.value != "" && !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
				t.Errorf("the refused cookie was not deleted: %q", w.Header().Get("Set-Cookie"))
			}
		})
	}
}

// TestSessionSize leaves out what matters least when a session does not
// fit a cookie, and says so.
func TestSessionSize(t *testing.T) {
	op := startProvider(t)
	a, err := New(context.Background(), Config{
		OIDC:            OIDC{Issuer: op.Issuer(), ClientID: op.ClientID, RedirectURL: "https://gw.example.com/gateway/callback"},
		SessionKeyFiles: []string{keyFile(t, 6, 32)}, Viewers: []string{"group:g7"}, Operators: []string{"group:ops"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var many []string
	for i := range 400 {
		many = append(many, fmt.Sprintf("group-%03d", i))
	}
	many = append(many, "g7", "ops")
	big := strings.Repeat("t", 1500)
	tests := []struct {
		name    string
		s       session
		dropped int
		groups  int // groups kept, -1 for all
		refresh bool
	}{
		{"fits", session{Subject: "u", Groups: []string{"a", "ops"}, Refresh: big, IDToken: big[:900]}, 0, -1, true},
		{"id_token_dropped", session{Subject: "u", Refresh: big, IDToken: big + big}, 1, -1, true},
		{"groups_trimmed", session{Subject: "u", Groups: many, Refresh: big, IDToken: big}, 2, 2, true},
		{"refresh_dropped", session{Subject: "u", Groups: []string{"ops"}, Refresh: big + big + big}, 3, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, dropped, err := a.sealSession(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(SessionCookie)+1+len(v) > MaxCookieSize {
				t.Fatalf("cookie is %d bytes", len(SessionCookie)+1+len(v))
			}
			if len(dropped) != tt.dropped {
				t.Fatalf("dropped %q, want %d steps", dropped, tt.dropped)
			}
			got, err := a.openSession(v)
			if err != nil {
				t.Fatal(err)
			}
			if tt.groups >= 0 && len(got.Groups) != tt.groups {
				t.Errorf("kept groups %q", got.Groups)
			}
			if (got.Refresh != "") != tt.refresh {
				t.Errorf("refresh token kept = %v", got.Refresh != "")
			}
		})
	}
	if _, _, err := a.sealSession(session{Subject: strings.Repeat("s", 4000)}); err == nil {
		t.Error("a session that cannot fit was sealed")
	}
}
