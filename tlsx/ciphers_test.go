package tlsx

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

// TestParseCiphers: CIPHERS names map to Go suites one by one; suites Go
// lacks and OpenSSL aliases are told apart in the warnings; nothing usable
// is an error that says why.
func TestParseCiphers(t *testing.T) {
	tests := []struct {
		name        string
		list        string
		suites      []uint16
		unsupported []string
		aliases     []string
		err         string
	}{
		{"libprocess default list", stockCiphers,
			[]uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA},
			[]string{"RC4-SHA", "DHE-RSA-AES128-SHA", "DHE-DSS-AES128-SHA", "DHE-RSA-AES256-SHA", "DHE-DSS-AES256-SHA"}, nil, ""},
		{"order kept, duplicates dropped", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
			[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, nil, nil, ""},
		{"commas and spaces separate too", "AES128-SHA, AES256-SHA",
			[]uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA}, nil, nil, ""},
		{"removal of a named suite", "AES128-SHA:AES256-SHA:!AES128-SHA",
			[]uint16{tls.TLS_RSA_WITH_AES_256_CBC_SHA}, nil, nil, ""},
		{"aliases and directives are not expanded", "ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:ECDHE+AESGCM:!aNULL:@STRENGTH",
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, nil, []string{"HIGH", "ECDHE+AESGCM", "!aNULL", "@STRENGTH"}, ""},
		{"TLS 1.3 names are accepted and ignored", "TLS_AES_128_GCM_SHA256:AES128-GCM-SHA256",
			[]uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}, nil, nil, ""},
		{"nothing Go can do", "RC4-SHA:DHE-RSA-AES128-SHA", nil, []string{"RC4-SHA", "DHE-RSA-AES128-SHA"}, nil, "none of the ciphers"},
		{"aliases only", "HIGH:!aNULL:!MD5", nil, nil, []string{"HIGH", "!aNULL", "!MD5"}, "aliases and directives such as HIGH are not expanded"},
		{"TLS 1.3 names only", "TLS_AES_128_GCM_SHA256", nil, nil, nil, "none of the ciphers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parseCiphers(tt.list)
			checkErr(t, err, tt.err)
			if err == nil && !slices.Equal(l.suites, tt.suites) {
				t.Errorf("suites %v, want %v", names(l.suites), names(tt.suites))
			}
			if !slices.Equal(l.unsupported, tt.unsupported) || !slices.Equal(l.aliases, tt.aliases) {
				t.Errorf("unsupported %q aliases %q, want %q and %q", l.unsupported, l.aliases, tt.unsupported, tt.aliases)
			}
			for _, w := range l.warnings("LIBPROCESS_SSL_CIPHERS") {
				if !strings.HasPrefix(w, "LIBPROCESS_SSL_CIPHERS: ") {
					t.Errorf("warning %q does not name the variable", w)
				}
			}
		})
	}
}

func names(ids []uint16) []string {
	var n []string
	for _, id := range ids {
		n = append(n, tls.CipherSuiteName(id))
	}
	return n
}
