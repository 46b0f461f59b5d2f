package web

import (
	"strings"
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := fixtureNow
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"never", time.Time{}, "never"},
		{"future", now.Add(time.Minute), "just now"},
		{"now", now, "just now"},
		{"seconds", now.Add(-12 * time.Second), "12 s ago"},
		{"minutes", now.Add(-4*time.Minute - 59*time.Second), "4 min ago"},
		{"hours", now.Add(-3 * time.Hour), "3 h ago"},
		{"hours_minutes", now.Add(-3*time.Hour - 5*time.Minute), "3 h 5 min ago"},
		{"days", now.Add(-50 * time.Hour), "2 days ago"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ago(now, tt.t); got != tt.want {
				t.Errorf("ago = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	now := fixtureNow
	day := 24 * time.Hour
	tests := []struct {
		name     string
		notAfter time.Time
		text     string
		class    string
		days     int
	}{
		{"far", now.Add(300 * day), "expires in 300 days", "ok", 300},
		{"threshold", now.Add(30 * day), "expires in 30 days", "ok", 30},
		{"soon", now.Add(29*day + time.Hour), "expires in 29 days", "warn", 29},
		{"tomorrow", now.Add(day + time.Minute), "expires in 1 day", "warn", 1},
		{"hours", now.Add(3 * time.Hour), "expires in less than a day", "warn", 0},
		{"just_expired", now.Add(-time.Hour), "expired today", "bad", -1},
		{"expired_days", now.Add(-3*day - time.Hour), "expired 3 days ago", "bad", -4},
		{"exactly_now", now, "expired today", "bad", 0},
		{"none", time.Time{}, "no expiry date", "none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expiry(now, tt.notAfter); got != tt.text {
				t.Errorf("expiry = %q, want %q", got, tt.text)
			}
			if got := expiryClass(now, tt.notAfter); got != tt.class {
				t.Errorf("class = %q, want %q", got, tt.class)
			}
			if tt.notAfter.IsZero() {
				return
			}
			if got := (Cert{NotAfter: tt.notAfter}).DaysLeft(now); got != tt.days {
				t.Errorf("DaysLeft = %d, want %d", got, tt.days)
			}
		})
	}
}

func TestAnchor(t *testing.T) {
	a, b := anchor("127.0.0.1:5050"), anchor("127.0.0.1-5050")
	if a == b {
		t.Errorf("two addresses share the id %q", a)
	}
	if a != anchor("127.0.0.1:5050") {
		t.Error("anchor is not stable")
	}
	for _, r := range anchor(`"><script>`) {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			t.Errorf("anchor holds %q", r)
		}
	}
}

func TestCodeParts(t *testing.T) {
	type p = textPart
	tests := []struct {
		name string
		in   string
		want []textPart
	}{
		{"plain", "make the leader reachable again", []p{{"make the leader reachable again", false}}},
		{"empty", "", nil},
		{"assignments", "restart agent a (127.0.0.1:5051) with LIBPROCESS_SSL_ENABLED=true LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true",
			[]p{{"restart agent a (127.0.0.1:5051) with ", false}, {"LIBPROCESS_SSL_ENABLED=true", true}, {" ", false}, {"LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", true}}},
		{"placeholder_then_semicolon", "LIBPROCESS_SSL_KEY_FILE=...; `mesosgate certs` makes one",
			[]p{{"LIBPROCESS_SSL_KEY_FILE=...", true}, {"; ", false}, {"mesosgate certs", true}, {" makes one", false}}},
		{"parenthesised", "(keeping LIBPROCESS_SSL_ENABLED=true and the certificate)",
			[]p{{"(keeping ", false}, {"LIBPROCESS_SSL_ENABLED=true", true}, {" and the certificate)", false}}},
		{"full_stop", "verify with LIBPROCESS_SSL_VERIFY_SERVER_CERT=true.",
			[]p{{"verify with ", false}, {"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true", true}, {".", false}}},
		{"not_env_names", "a=b Ab_C=1 X=1 lower_case=1 A_B-C=1", []p{{"a=b Ab_C=1 X=1 lower_case=1 A_B-C=1", false}}},
		{"lone_backquote", "one ` two", []p{{"one ` two", false}}},
		{"empty_quotes", "``x", []p{{"``x", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codeParts(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("codeParts(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("codeParts(%q) = %+v, want %+v", tt.in, got, tt.want)
				}
			}
		})
	}
}

// FuzzCodeParts: the parts give the sentence back (less backquotes),
// none is empty, and no two plain parts follow each other.
func FuzzCodeParts(f *testing.F) {
	for _, s := range []string{"restart x with LIBPROCESS_SSL_ENABLED=true", "`a` b `c", "(A_B=1,", "X_Y=..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var joined strings.Builder
		parts := codeParts(s)
		for i, p := range parts {
			if p.Text == "" {
				t.Fatalf("empty part in %+v", parts)
			}
			if i > 0 && !p.Code && !parts[i-1].Code {
				t.Fatalf("adjacent plain parts in %+v", parts)
			}
			joined.WriteString(p.Text)
		}
		if strings.ReplaceAll(joined.String(), "`", "") != strings.ReplaceAll(s, "`", "") {
			t.Fatalf("codeParts(%q) = %+v: the text changed", s, parts)
		}
	})
}
