package sim

import (
	"slices"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/tlsx"
)

func TestParseModes(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Mode
		err      string
	}{
		{"one", "plain", []Mode{Plain}, ""},
		{"all", "plain,downgrade,ssl,ssl-clientcert", []Mode{Plain, Downgrade, SSL, SSLClientCert}, ""},
		{"spaces_and_case", " Plain , SSL ", []Mode{Plain, SSL}, ""},
		{"prober_names", "plain-only,ssl-downgrade,ssl-only", []Mode{Plain, Downgrade, SSL}, ""},
		{"empty", "", nil, "empty mode list"},
		{"empty_entry", "plain,,ssl", nil, `unknown mode ""`},
		{"unknown", "plain,tls", nil, `unknown mode "tls": use plain, downgrade, ssl or ssl-clientcert`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseModes(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestModeAt(t *testing.T) {
	modes := []Mode{Plain, SSL}
	for i, want := range []Mode{Plain, SSL, SSL, SSL} {
		if got := ModeAt(modes, i); got != want {
			t.Errorf("ModeAt(%v, %d) = %s, want %s", modes, i, got, want)
		}
	}
	if got := ModeAt(nil, 3); got != Plain {
		t.Errorf("ModeAt(nil, 3) = %s, want plain", got)
	}
}

// TestModeSettings checks each mode's libprocess settings, and that
// ModeOf reads them back.
func TestModeSettings(t *testing.T) {
	p := &PKI{CAFile: "ca.pem", CertFile: "cert.pem", KeyFile: "key.pem"}
	tests := []struct {
		mode Mode
		want tlsx.Settings
	}{
		{Plain, tlsx.Settings{}},
		{Downgrade, tlsx.Settings{Enabled: tlsx.On, SupportDowngrade: true, CertFile: "cert.pem", KeyFile: "key.pem", Ciphers: MemberCiphers}},
		{SSL, tlsx.Settings{Enabled: tlsx.On, CertFile: "cert.pem", KeyFile: "key.pem", Ciphers: MemberCiphers}},
		{SSLClientCert, tlsx.Settings{Enabled: tlsx.On, RequireClientCert: true, CAFile: "ca.pem", CertFile: "cert.pem", KeyFile: "key.pem", Ciphers: MemberCiphers}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			got := tc.mode.Settings(p)
			if got != tc.want {
				t.Errorf("Settings = %+v, want %+v", got, tc.want)
			}
			if got.EnableTLSv13.Or(false) {
				t.Errorf("TLS 1.3 on; libprocess's default is off")
			}
			if ModeOf(got) != tc.mode {
				t.Errorf("ModeOf(Settings) = %s", ModeOf(got))
			}
		})
	}
}

// FuzzParseModes: any input parses into valid modes or fails with an
// error naming the choices; it never panics.
func FuzzParseModes(f *testing.F) {
	for _, seed := range []string{"plain", "plain,downgrade,ssl,ssl-clientcert", "", ",", "SSL-ONLY, ssl-downgrade", "plain,\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		modes, err := ParseModes(in)
		if err != nil {
			if !strings.Contains(err.Error(), "plain") {
				t.Errorf("error %q does not name the choices", err)
			}
			return
		}
		if len(modes) != strings.Count(in, ",")+1 {
			t.Errorf("%q gave %d modes", in, len(modes))
		}
		for _, m := range modes {
			if m.Valid() != nil {
				t.Errorf("%q gave invalid mode %q", in, m)
			}
		}
	})
}
