package access

import (
	"strings"
	"testing"
)

// TestParseGrant parses every entry form and refuses bad entries with the
// entry named and the accepted forms listed.
func TestParseGrant(t *testing.T) {
	tests := []struct {
		name  string
		entry string
		want  string // canonical form, or "" for an error
	}{
		{"email", "alice@example.com", "alice@example.com"},
		{"email_prefixed", "email:alice@example.com", "alice@example.com"},
		{"email_spaces_trimmed", "  alice@example.com ", "alice@example.com"},
		{"group", "group:ops", "group:ops"},
		{"group_with_commas", "group:cn=ops,ou=groups", "group:cn=ops,ou=groups"},
		{"group_with_colon", "group:team:ops", "group:team:ops"},
		{"subject", "sub:248289761001", "sub:248289761001"},
		{"common_name", "cn:deploy-bot", "cn:deploy-bot"},
		{"dns", "dns:ci.example.com", "dns:ci.example.com"},
		{"anyone", "*", "*"},
		{"bare_word", "ops", ""},
		{"unknown_prefix", "role:ops", ""},
		{"empty_group", "group:", ""},
		{"padded_group", "group: ops", ""},
		{"email_prefix_without_at", "email:alice", ""},
		{"two_ats", "a@b@c", ""},
		{"cert_prefix_unsupported", "cert:CN=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGrant(tt.entry)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseGrant(%q) = %v, want an error", tt.entry, g)
				}
				for _, must := range []string{tt.entry, "group:ops", "cn:NAME", "dns:", "sub:", "*"} {
					if !strings.Contains(err.Error(), must) {
						t.Errorf("error %q does not mention %q", err, must)
					}
				}
				return
			}
			if err != nil || g.String() != tt.want {
				t.Fatalf("ParseGrant(%q) = %v, %v; want %s", tt.entry, g, err, tt.want)
			}
		})
	}
}

// TestParseGrants reports each bad entry on its own line and refuses a
// list that names nobody.
func TestParseGrants(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		lines   int // error lines, 0 for none
	}{
		{"good", []string{"alice@example.com", "group:ops"}, 0},
		{"blanks_skipped", []string{"", " ", "group:ops"}, 0},
		{"empty", []string{}, 1},
		{"only_blanks", []string{"", "  "}, 1},
		{"two_bad", []string{"ops", "group:ops", "x:y"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGrants("--operators", tt.entries)
			if tt.lines == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != tt.lines {
				t.Fatalf("%d error lines, want %d: %v", len(lines), tt.lines, err)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "--operators") {
					t.Errorf("line %q does not name the setting", l)
				}
			}
		})
	}
}

// TestGrantMatches matches grants against every kind of identity.
func TestGrantMatches(t *testing.T) {
	alice := Identity{Kind: Session, Subject: "u1", Email: "Alice@Example.com", Name: "deploy-bot", Groups: []string{"ops", "dev"}}
	bot := Identity{Kind: Certificate, CommonName: "deploy-bot", Emails: []string{"bot@example.com"}, DNSNames: []string{"CI.example.com"}}
	tests := []struct {
		name  string
		entry string
		id    Identity
		want  bool
	}{
		{"email_case_ignored", "alice@example.com", alice, true},
		{"other_email", "bob@example.com", alice, false},
		{"group", "group:ops", alice, true},
		{"group_case_matters", "group:OPS", alice, false},
		{"subject", "sub:u1", alice, true},
		{"cn_never_matches_a_name_claim", "cn:deploy-bot", alice, false},
		{"cn", "cn:deploy-bot", bot, true},
		{"cert_email_san", "bot@example.com", bot, true},
		{"dns_case_ignored", "dns:ci.example.com", bot, true},
		{"dns_never_matches_a_token", "dns:ci.example.com", alice, false},
		{"anyone_signed_in", "*", alice, true},
		{"anyone_with_a_certificate", "*", bot, true},
		{"anyone_is_not_anonymous", "*", Identity{}, false},
		{"bearer_group", "group:dev", Identity{Kind: Bearer, Groups: []string{"dev"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGrant(tt.entry)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Matches(tt.id); got != tt.want {
				t.Fatalf("%s matches %v = %v, want %v", tt.entry, tt.id, got, tt.want)
			}
		})
	}
}

// FuzzParseGrant checks that every entry either parses to a canonical form
// that parses back to itself, or is an error that names it.
// Seeds are in testdata/fuzz/FuzzParseGrant.
func FuzzParseGrant(f *testing.F) {
	f.Add("group:ops")
	f.Fuzz(func(t *testing.T, entry string) {
		g, err := ParseGrant(entry)
		if err != nil {
			if !strings.Contains(err.Error(), "entry ") {
				t.Fatalf("error %q does not name the entry", err)
			}
			return
		}
		again, err := ParseGrant(g.String())
		if err != nil || again != g {
			t.Fatalf("%q parsed to %v, which parses back to %v, %v", entry, g, again, err)
		}
	})
}
