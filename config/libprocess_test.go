package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/tlsx"
)

// envOf returns a lookup over a fixed environment.
func envOf(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// errLines splits a joined error into its lines.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestFromEnvValues(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    tlsx.Settings
		sources sslSources
	}{
		{"nothing set", nil, tlsx.Settings{}, sslSources{}},
		{"every variable", map[string]string{
			"LIBPROCESS_SSL_ENABLED":                    "true",
			"LIBPROCESS_SSL_SUPPORT_DOWNGRADE":          "1",
			"LIBPROCESS_SSL_CERT_FILE":                  "/c.pem",
			"LIBPROCESS_SSL_KEY_FILE":                   "/k.pem",
			"LIBPROCESS_SSL_VERIFY_SERVER_CERT":         "true",
			"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT":        "1",
			"LIBPROCESS_SSL_VERIFICATION_DEPTH":         "2",
			"LIBPROCESS_SSL_VERIFY_IPADD":               "true",
			"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME": "openssl",
			"LIBPROCESS_SSL_CA_DIR":                     "/ca.d",
			"LIBPROCESS_SSL_CA_FILE":                    "/ca.pem",
			"LIBPROCESS_SSL_CIPHERS":                    "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA",
			"LIBPROCESS_SSL_ECDH_CURVES":                "P-256:X25519",
			"LIBPROCESS_SSL_ENABLE_SSL_V3":              "false",
			"LIBPROCESS_SSL_ENABLE_TLS_V1_0":            "true",
			"LIBPROCESS_SSL_ENABLE_TLS_V1_1":            "1",
			"LIBPROCESS_SSL_ENABLE_TLS_V1_2":            "0",
			"LIBPROCESS_SSL_ENABLE_TLS_V1_3":            "true",
		}, tlsx.Settings{
			Enabled: tlsx.On, SupportDowngrade: true, CertFile: "/c.pem", KeyFile: "/k.pem",
			VerifyServerCert: true, RequireClientCert: true, VerifyDepth: 2, VerifyIPAdd: true,
			HostnameValidationScheme: tlsx.HostnameOpenSSL, CADir: "/ca.d", CAFile: "/ca.pem",
			Ciphers:      "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA",
			ECDHCurves:   "P-256:X25519",
			EnableTLSv10: true, EnableTLSv11: true, EnableTLSv12: tlsx.Off, EnableTLSv13: tlsx.On,
		}, sslSources{
			"ENABLED": "LIBPROCESS_SSL_ENABLED", "SUPPORT_DOWNGRADE": "LIBPROCESS_SSL_SUPPORT_DOWNGRADE",
			"CERT_FILE": "LIBPROCESS_SSL_CERT_FILE", "KEY_FILE": "LIBPROCESS_SSL_KEY_FILE",
			"VERIFY_SERVER_CERT": "LIBPROCESS_SSL_VERIFY_SERVER_CERT", "REQUIRE_CLIENT_CERT": "LIBPROCESS_SSL_REQUIRE_CLIENT_CERT",
			"VERIFY_DEPTH": "LIBPROCESS_SSL_VERIFICATION_DEPTH", "VERIFY_IPADD": "LIBPROCESS_SSL_VERIFY_IPADD",
			"HOSTNAME_VALIDATION_SCHEME": "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME",
			"CA_DIR":                     "LIBPROCESS_SSL_CA_DIR", "CA_FILE": "LIBPROCESS_SSL_CA_FILE", "CIPHERS": "LIBPROCESS_SSL_CIPHERS",
			"ECDH_CURVES": "LIBPROCESS_SSL_ECDH_CURVES", "ENABLE_SSL_V3": "LIBPROCESS_SSL_ENABLE_SSL_V3",
			"ENABLE_TLS_V1_0": "LIBPROCESS_SSL_ENABLE_TLS_V1_0", "ENABLE_TLS_V1_1": "LIBPROCESS_SSL_ENABLE_TLS_V1_1",
			"ENABLE_TLS_V1_2": "LIBPROCESS_SSL_ENABLE_TLS_V1_2", "ENABLE_TLS_V1_3": "LIBPROCESS_SSL_ENABLE_TLS_V1_3",
		}},
		{"toggles false are tlsx.Off, not tlsx.Unset",
			map[string]string{"LIBPROCESS_SSL_ENABLED": "false", "LIBPROCESS_SSL_ENABLE_TLS_V1_3": "0"},
			tlsx.Settings{Enabled: tlsx.Off, EnableTLSv13: tlsx.Off},
			sslSources{"ENABLED": "LIBPROCESS_SSL_ENABLED", "ENABLE_TLS_V1_3": "LIBPROCESS_SSL_ENABLE_TLS_V1_3"}},
		{"old prefix alone",
			map[string]string{"SSL_ENABLED": "1", "SSL_VERIFY_DEPTH": "7"},
			tlsx.Settings{Enabled: tlsx.On, VerifyDepth: 7},
			sslSources{"ENABLED": "SSL_ENABLED", "VERIFY_DEPTH": "SSL_VERIFY_DEPTH"}},
		{"new prefix wins over old",
			map[string]string{"SSL_ENABLED": "false", "LIBPROCESS_SSL_ENABLED": "true"},
			tlsx.Settings{Enabled: tlsx.On}, sslSources{"ENABLED": "LIBPROCESS_SSL_ENABLED"}},
		{"a bad old-prefix value is ignored when the new prefix is set, as in libprocess",
			map[string]string{"SSL_ENABLED": "yes", "LIBPROCESS_SSL_ENABLED": "true"},
			tlsx.Settings{Enabled: tlsx.On}, sslSources{"ENABLED": "LIBPROCESS_SSL_ENABLED"}},
		{"lower-case name after the prefix",
			map[string]string{"LIBPROCESS_SSL_verify_server_cert": "true", "SSL_ca_file": "/ca.pem"},
			tlsx.Settings{VerifyServerCert: true, CAFile: "/ca.pem"},
			sslSources{"VERIFY_SERVER_CERT": "LIBPROCESS_SSL_verify_server_cert", "CA_FILE": "SSL_ca_file"}},
		{"upper-case name wins over lower-case",
			map[string]string{"LIBPROCESS_SSL_CA_FILE": "/a", "LIBPROCESS_SSL_ca_file": "/b"},
			tlsx.Settings{CAFile: "/a"}, sslSources{"CA_FILE": "LIBPROCESS_SSL_CA_FILE"}},
		{"VERIFY_CERT alias",
			map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "true"},
			tlsx.Settings{VerifyServerCert: true}, sslSources{"VERIFY_SERVER_CERT": "LIBPROCESS_SSL_VERIFY_CERT"}},
		{"REQUIRE_CERT alias through the old prefix",
			map[string]string{"SSL_REQUIRE_CERT": "1"},
			tlsx.Settings{RequireClientCert: true}, sslSources{"REQUIRE_CLIENT_CERT": "SSL_REQUIRE_CERT"}},
		{"alias true and new name false: on, as libprocess ORs them",
			map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "true", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "false"},
			tlsx.Settings{VerifyServerCert: true}, sslSources{"VERIFY_SERVER_CERT": "LIBPROCESS_SSL_VERIFY_CERT"}},
		{"new name true and alias false: on",
			map[string]string{"LIBPROCESS_SSL_REQUIRE_CERT": "0", "LIBPROCESS_SSL_REQUIRE_CLIENT_CERT": "1"},
			tlsx.Settings{RequireClientCert: true}, sslSources{"REQUIRE_CLIENT_CERT": "LIBPROCESS_SSL_REQUIRE_CLIENT_CERT"}},
		{"both names false: off, the new name is the source",
			map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "0", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "false"},
			tlsx.Settings{}, sslSources{"VERIFY_SERVER_CERT": "LIBPROCESS_SSL_VERIFY_SERVER_CERT"}},
		{"VERIFY_DEPTH, the documented name",
			map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "1"},
			tlsx.Settings{VerifyDepth: 1}, sslSources{"VERIFY_DEPTH": "LIBPROCESS_SSL_VERIFY_DEPTH"}},
		{"VERIFICATION_DEPTH, the name libprocess reads, wins",
			map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "1", "LIBPROCESS_SSL_VERIFICATION_DEPTH": "3"},
			tlsx.Settings{VerifyDepth: 3}, sslSources{"VERIFY_DEPTH": "LIBPROCESS_SSL_VERIFICATION_DEPTH"}},
		{"ECDH_CURVE, the documented name",
			map[string]string{"LIBPROCESS_SSL_ECDH_CURVE": "secp384r1"},
			tlsx.Settings{ECDHCurves: "secp384r1"}, sslSources{"ECDH_CURVES": "LIBPROCESS_SSL_ECDH_CURVE"}},
		{"ECDH_CURVES, the name libprocess reads, wins",
			map[string]string{"LIBPROCESS_SSL_ECDH_CURVE": "P-384", "LIBPROCESS_SSL_ECDH_CURVES": "auto"},
			tlsx.Settings{ECDHCurves: "auto"}, sslSources{"ECDH_CURVES": "LIBPROCESS_SSL_ECDH_CURVES"}},
		{"SSL_CERT_FILE alone is OpenSSL's CA file, not our certificate",
			map[string]string{"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR": "/etc/ssl/certs"},
			tlsx.Settings{}, sslSources{}},
		{"SSL_CERT_FILE with a key is the certificate, as in libprocess",
			map[string]string{"SSL_CERT_FILE": "/c.pem", "SSL_KEY_FILE": "/k.pem"},
			tlsx.Settings{CertFile: "/c.pem", KeyFile: "/k.pem"},
			sslSources{"CERT_FILE": "SSL_CERT_FILE", "KEY_FILE": "SSL_KEY_FILE"}},
		{"SSL_CERT_FILE next to LIBPROCESS_SSL_CERT_FILE",
			map[string]string{"SSL_CERT_FILE": "/etc/ssl/ca.crt", "LIBPROCESS_SSL_CERT_FILE": "/c.pem", "LIBPROCESS_SSL_KEY_FILE": "/k.pem"},
			tlsx.Settings{CertFile: "/c.pem", KeyFile: "/k.pem"},
			sslSources{"CERT_FILE": "LIBPROCESS_SSL_CERT_FILE", "KEY_FILE": "LIBPROCESS_SSL_KEY_FILE"}},
		{"HOSTNAME_VALIDATION_SCHEME legacy",
			map[string]string{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME": "legacy"},
			tlsx.Settings{HostnameValidationScheme: tlsx.HostnameLegacy},
			sslSources{"HOSTNAME_VALIDATION_SCHEME": "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME"}},
		{"unrelated variables are not read",
			map[string]string{"SSL_CERT_DIR": "/x", "LIBPROCESS_SSL_ENABLE_DOWNGRADE": "true", "SSLKEYLOGFILE": "/k", "LIBPROCESS_IP": "1.2.3.4"},
			tlsx.Settings{}, sslSources{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, src, _, err := fromEnv(envOf(tt.env))
			if err != nil {
				t.Fatalf("fromEnv: %v", err)
			}
			if s != tt.want {
				t.Errorf("settings\n got %+v\nwant %+v", s, tt.want)
			}
			if !reflect.DeepEqual(src, tt.sources) {
				t.Errorf("sources\n got %v\nwant %v", src, tt.sources)
			}
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // one entry per error line, each a set of fragments separated by "|"
	}{
		{"yes is not a boolean", map[string]string{"LIBPROCESS_SSL_ENABLED": "yes"},
			[]string{`LIBPROCESS_SSL_ENABLED="yes": not a boolean; use true or false`}},
		{"case matters for booleans", map[string]string{"SSL_SUPPORT_DOWNGRADE": "True"},
			[]string{`SSL_SUPPORT_DOWNGRADE="True": not a boolean`}},
		{"space around a boolean", map[string]string{"LIBPROCESS_SSL_VERIFY_IPADD": " 1"},
			[]string{`LIBPROCESS_SSL_VERIFY_IPADD=" 1": not a boolean`}},
		{"empty boolean", map[string]string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT": ""},
			[]string{`LIBPROCESS_SSL_VERIFY_SERVER_CERT="": empty; write true or false|libprocess would read an empty value as true`}},
		{"bad alias value", map[string]string{"LIBPROCESS_SSL_REQUIRE_CERT": "on", "LIBPROCESS_SSL_REQUIRE_CLIENT_CERT": "true"},
			[]string{`LIBPROCESS_SSL_REQUIRE_CERT="on": not a boolean`}},
		{"SSLv3", map[string]string{"LIBPROCESS_SSL_ENABLE_SSL_V3": "true"},
			[]string{`LIBPROCESS_SSL_ENABLE_SSL_V3="true": Go has no SSLv3|unset it or set it to false`}},
		{"SSLv3 spelled 1", map[string]string{"SSL_ENABLE_SSL_V3": "1"},
			[]string{`SSL_ENABLE_SSL_V3="1": Go has no SSLv3`}},
		{"depth zero", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "0"},
			[]string{`LIBPROCESS_SSL_VERIFY_DEPTH="0": not a positive integer`}},
		{"depth negative", map[string]string{"LIBPROCESS_SSL_VERIFICATION_DEPTH": "-1"},
			[]string{`LIBPROCESS_SSL_VERIFICATION_DEPTH="-1": not a positive integer`}},
		{"depth not a number", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "four"},
			[]string{`LIBPROCESS_SSL_VERIFY_DEPTH="four": not a positive integer; use a number`}},
		{"depth overflow", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "99999999999999999999999"},
			[]string{`LIBPROCESS_SSL_VERIFY_DEPTH="99999999999999999999999": not a positive integer`}},
		{"unknown scheme", map[string]string{"LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME": "OpenSSL"},
			[]string{`LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME="OpenSSL": unknown scheme; use legacy or openssl`}},
		{"empty path", map[string]string{"LIBPROCESS_SSL_CA_FILE": ""},
			[]string{`LIBPROCESS_SSL_CA_FILE="": empty; give a path, or unset the variable`}},
		{"no usable cipher", map[string]string{"LIBPROCESS_SSL_CIPHERS": "RC4-SHA:DHE-DSS-AES128-SHA"},
			[]string{`LIBPROCESS_SSL_CIPHERS: none of the ciphers "RC4-SHA:DHE-DSS-AES128-SHA"`}},
		{"empty ciphers", map[string]string{"LIBPROCESS_SSL_CIPHERS": " "},
			[]string{`LIBPROCESS_SSL_CIPHERS=" ": empty`}},
		{"unknown curve", map[string]string{"LIBPROCESS_SSL_ECDH_CURVE": "P-256:brainpoolP256r1"},
			[]string{`LIBPROCESS_SSL_ECDH_CURVE: unknown curve "brainpoolP256r1"|use auto`}},
		{"empty curves", map[string]string{"LIBPROCESS_SSL_ECDH_CURVES": ""},
			[]string{`LIBPROCESS_SSL_ECDH_CURVES="": empty`}},
		{"a control character is quoted, the line stays one line", map[string]string{"LIBPROCESS_SSL_ENABLED": "true\nfalse"},
			[]string{`LIBPROCESS_SSL_ENABLED="true\nfalse": not a boolean`}},
		{"every error at once, in table order", map[string]string{
			"LIBPROCESS_SSL_ENABLED":         "yes",
			"SSL_VERIFY_DEPTH":               "x",
			"LIBPROCESS_SSL_ENABLE_SSL_V3":   "true",
			"LIBPROCESS_SSL_ENABLE_TLS_V1_3": "maybe",
		}, []string{
			`LIBPROCESS_SSL_ENABLED="yes"`,
			`SSL_VERIFY_DEPTH="x"`,
			`LIBPROCESS_SSL_ENABLE_SSL_V3="true"`,
			`LIBPROCESS_SSL_ENABLE_TLS_V1_3="maybe"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := fromEnv(envOf(tt.env))
			lines := errLines(err)
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d error lines, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				for _, frag := range strings.Split(want, "|") {
					if !strings.Contains(lines[i], frag) {
						t.Errorf("error line %d %q does not contain %q", i, lines[i], frag)
					}
				}
			}
		})
	}
}

func TestFromEnvWarnings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // each warning, as fragments separated by "|"
	}{
		{"nothing set", nil, nil},
		{"plain settings warn nothing", map[string]string{"LIBPROCESS_SSL_ENABLED": "true", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "true"}, nil},
		{"both prefixes agree", map[string]string{"SSL_ENABLED": "true", "LIBPROCESS_SSL_ENABLED": "true"}, nil},
		{"both prefixes differ", map[string]string{"SSL_ENABLED": "false", "LIBPROCESS_SSL_ENABLED": "true"},
			[]string{`LIBPROCESS_SSL_ENABLED="true" and SSL_ENABLED="false" differ; using LIBPROCESS_SSL_ENABLED`}},
		{"upper and lower case differ", map[string]string{"LIBPROCESS_SSL_CA_FILE": "/a", "LIBPROCESS_SSL_ca_file": "/b"},
			[]string{`LIBPROCESS_SSL_CA_FILE="/a" and LIBPROCESS_SSL_ca_file="/b" differ; using LIBPROCESS_SSL_CA_FILE`}},
		{"VERIFY_CERT is deprecated", map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "true"},
			[]string{"LIBPROCESS_SSL_VERIFY_CERT is deprecated|renamed it LIBPROCESS_SSL_VERIFY_SERVER_CERT"}},
		{"deprecated even when false", map[string]string{"SSL_REQUIRE_CERT": "false"},
			[]string{"SSL_REQUIRE_CERT is deprecated|LIBPROCESS_SSL_REQUIRE_CLIENT_CERT"}},
		{"alias and new name disagree", map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "true", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "false"},
			[]string{
				"LIBPROCESS_SSL_VERIFY_CERT is deprecated",
				`LIBPROCESS_SSL_VERIFY_SERVER_CERT="false" and LIBPROCESS_SSL_VERIFY_CERT="true" disagree; using LIBPROCESS_SSL_VERIFY_CERT="true"|either name`,
			}},
		{"alias and new name agree as 1 and true", map[string]string{"LIBPROCESS_SSL_VERIFY_CERT": "1", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "true"},
			[]string{"LIBPROCESS_SSL_VERIFY_CERT is deprecated"}},
		{"VERIFY_DEPTH alone: libprocess ignores it", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "2"},
			[]string{"LIBPROCESS_SSL_VERIFY_DEPTH is read here, but libprocess itself ignores it and reads LIBPROCESS_SSL_VERIFICATION_DEPTH"}},
		{"VERIFICATION_DEPTH alone: no warning", map[string]string{"LIBPROCESS_SSL_VERIFICATION_DEPTH": "2"}, nil},
		{"both depths, equal: no warning", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "2", "LIBPROCESS_SSL_VERIFICATION_DEPTH": "2"}, nil},
		{"both depths differ", map[string]string{"LIBPROCESS_SSL_VERIFY_DEPTH": "2", "SSL_VERIFICATION_DEPTH": "5"},
			[]string{`LIBPROCESS_SSL_VERIFY_DEPTH="2" and SSL_VERIFICATION_DEPTH="5" disagree; using SSL_VERIFICATION_DEPTH="5" (the name libprocess reads)`}},
		{"ECDH_CURVE alone", map[string]string{"LIBPROCESS_SSL_ECDH_CURVE": "P-256"},
			[]string{"LIBPROCESS_SSL_ECDH_CURVE is read here, but libprocess itself ignores it and reads LIBPROCESS_SSL_ECDH_CURVES"}},
		{"curves differ", map[string]string{"LIBPROCESS_SSL_ECDH_CURVE": "P-256", "LIBPROCESS_SSL_ECDH_CURVES": "X25519"},
			[]string{`LIBPROCESS_SSL_ECDH_CURVES="X25519" and LIBPROCESS_SSL_ECDH_CURVE="P-256" disagree; using LIBPROCESS_SSL_ECDH_CURVES="X25519"`}},
		{"SSL_CERT_FILE read as the certificate", map[string]string{"SSL_CERT_FILE": "/c.pem", "LIBPROCESS_SSL_KEY_FILE": "/k.pem"},
			[]string{"SSL_CERT_FILE is read as the certificate to present|OpenSSL and Go also read SSL_CERT_FILE as the file of trusted CAs|rename it to LIBPROCESS_SSL_CERT_FILE"}},
		{"SSL_CERT_FILE alone, old prefix not otherwise used: quiet", map[string]string{"SSL_CERT_FILE": "/ca.pem", "LIBPROCESS_SSL_ENABLED": "true"}, nil},
		{"SSL_CERT_FILE alone, old prefix in use: explained", map[string]string{"SSL_CERT_FILE": "/c.pem", "SSL_ENABLED": "true"},
			[]string{"SSL_CERT_FILE is not read as the certificate to present because no KEY_FILE is set|set LIBPROCESS_SSL_CERT_FILE and LIBPROCESS_SSL_KEY_FILE"}},
		{"SSL_CERT_DIR is OpenSSL's alone", map[string]string{"SSL_CERT_DIR": "/etc/ssl/certs", "SSL_ENABLED": "true"}, nil},
		{"verification with downgrade", map[string]string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT": "true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE": "true"},
			[]string{
				"LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true: plain connections are accepted",
				"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true can be bypassed because downgrades are enabled (LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true)",
			}},
		{"client certificates with downgrade, named as written", map[string]string{"SSL_REQUIRE_CLIENT_CERT": "1", "SSL_VERIFY_SERVER_CERT": "1", "SSL_SUPPORT_DOWNGRADE": "1"},
			[]string{
				"SSL_SUPPORT_DOWNGRADE=true: plain connections",
				"SSL_REQUIRE_CLIENT_CERT=true can be bypassed because downgrades are enabled (SSL_SUPPORT_DOWNGRADE=true)",
			}},
		{"downgrade with SSL explicitly off: no downgrade note", map[string]string{"LIBPROCESS_SSL_ENABLED": "false", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE": "true"}, nil},
		{"REQUIRE_CLIENT_CERT implies VERIFY_SERVER_CERT", map[string]string{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT": "true"},
			[]string{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true implies verifying peers' certificates|as LIBPROCESS_SSL_VERIFY_SERVER_CERT=true does"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, warnings, err := fromEnv(envOf(tt.env))
			if err != nil {
				t.Fatalf("fromEnv: %v", err)
			}
			if len(warnings) != len(tt.want) {
				t.Fatalf("got %d warnings, want %d:\n%s", len(warnings), len(tt.want), strings.Join(warnings, "\n"))
			}
			for i, want := range tt.want {
				for _, frag := range strings.Split(want, "|") {
					if !strings.Contains(warnings[i], frag) {
						t.Errorf("warning %d %q does not contain %q", i, warnings[i], frag)
					}
				}
			}
		})
	}
}

// TestReadEnvLeavesAdviceOut: readEnv's warnings are about the variables
// only, so a caller that overrides settings can advise on the result.
func TestReadEnvLeavesAdviceOut(t *testing.T) {
	env := envOf(map[string]string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT": "true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE": "true"})
	s, _, warnings, err := readEnv(env)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("readEnv: warnings %q, error %v", warnings, err)
	}
	s.SupportDowngrade = false
	if got := advise(s, func(suffix string) string { return "--ssl-" + suffix }); len(got) != 0 {
		t.Errorf("Advise after turning downgrade off: %q", got)
	}
}

func TestSourcesName(t *testing.T) {
	src := sslSources{"CERT_FILE": "SSL_CERT_FILE"}
	if got := src.Name("CERT_FILE"); got != "SSL_CERT_FILE" {
		t.Errorf("Name(CERT_FILE) = %q", got)
	}
	if got := src.Name("KEY_FILE"); got != "LIBPROCESS_SSL_KEY_FILE" {
		t.Errorf("Name(KEY_FILE) = %q", got)
	}
}

// TestFromEnvErrorNamesReachContext: sslSources.Name fits Options.Name, so a
// problem NewContext finds names the variable the user set. (The CA file
// is read only when something is verified, as in libprocess.)
func TestFromEnvErrorNamesReachContext(t *testing.T) {
	s, src, _, err := fromEnv(envOf(map[string]string{"SSL_CA_FILE": "/nonexistent/ca.pem", "LIBPROCESS_SSL_VERIFY_SERVER_CERT": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tlsx.NewContext(s, tlsx.Options{ReloadInterval: -1, Name: src.Name})
	if err == nil || !strings.Contains(err.Error(), "SSL_CA_FILE") || strings.Contains(err.Error(), "LIBPROCESS_SSL_CA_FILE") {
		t.Errorf("NewContext error should name SSL_CA_FILE: %v", err)
	}
}

func TestVariables(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range sslVariableList() {
		for _, n := range v.names() {
			if seen[n] {
				t.Errorf("name %s listed twice", n)
			}
			seen[n] = true
		}
		if v.Usage == "" || v.Set == nil || v.Get == nil {
			t.Errorf("%s: usage, Set and Get are required", v.Name)
		}
		// Every variable's Get on the zero tlsx.Settings is libprocess's
		// default: what Default says, or "" for paths and lists.
		got := v.Get(tlsx.Settings{})
		if got != v.Default && got != "" {
			t.Errorf("%s: Get(zero) = %q, Default %q", v.Name, got, v.Default)
		}
		// Set then Get round-trips a valid value.
		if v.Boolean && v.Name != "ENABLE_SSL_V3" {
			var s tlsx.Settings
			if err := v.Set(&s, "1"); err != nil || v.Get(s) != "true" {
				t.Errorf("%s: Set(1) then Get = %q, %v", v.Name, v.Get(s), err)
			}
		}
	}
	// The SPEC's table, names after the prefix.
	for _, n := range []string{"ENABLED", "SUPPORT_DOWNGRADE", "CERT_FILE", "KEY_FILE", "VERIFY_SERVER_CERT", "VERIFY_CERT",
		"REQUIRE_CLIENT_CERT", "REQUIRE_CERT", "VERIFY_DEPTH", "VERIFICATION_DEPTH", "VERIFY_IPADD", "HOSTNAME_VALIDATION_SCHEME",
		"CA_DIR", "CA_FILE", "CIPHERS", "ECDH_CURVES", "ECDH_CURVE", "ENABLE_SSL_V3", "ENABLE_TLS_V1_0", "ENABLE_TLS_V1_1",
		"ENABLE_TLS_V1_2", "ENABLE_TLS_V1_3"} {
		if !seen[n] {
			t.Errorf("%s is missing from sslVariables", n)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
		ok   bool
	}{
		{"true", true, true}, {"1", true, true}, {"false", false, true}, {"0", false, true},
		{"", false, false}, {"TRUE", false, false}, {"yes", false, false}, {"on", false, false},
		{"t", false, false}, {"01", false, false}, {"true ", false, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBool(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseBool(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}

// FuzzFromEnv feeds environments of NAME=VALUE lines. fromEnv never
// panics, and every error and warning names a variable that is set.
func FuzzFromEnv(f *testing.F) {
	f.Add("LIBPROCESS_SSL_ENABLED=true\nLIBPROCESS_SSL_CERT_FILE=/c.pem\nLIBPROCESS_SSL_KEY_FILE=/k.pem")
	f.Add("SSL_ENABLED=yes\nLIBPROCESS_SSL_VERIFY_DEPTH=-3")
	f.Add("LIBPROCESS_SSL_CIPHERS=AES128-SHA:RC4-SHA\nSSL_ECDH_CURVE=P-256:foo")
	f.Fuzz(func(t *testing.T, text string) {
		env := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			name, value, _ := strings.Cut(line, "=")
			env[name] = value
		}
		_, src, warnings, err := fromEnv(envOf(env))
		for name, full := range src {
			if _, ok := env[full]; !ok || !strings.HasPrefix(full, prefixOld) && !strings.HasPrefix(full, prefixLibprocess) {
				t.Errorf("source %s=%s is not a variable that is set", name, full)
			}
		}
		var lines []string
		if err != nil {
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("error is not a joined list: %v", err)
			}
			for _, e := range joined.Unwrap() {
				var ee *envError
				if !errors.As(e, &ee) || ee.Variable == "" || ee.Name == "" || env[ee.Name] != ee.Value {
					t.Errorf("error %v is not an envError naming a variable that is set", e)
				}
			}
			lines = errLines(err)
		}
		for _, line := range append(lines, warnings...) {
			if !namesSetVariable(line, env) {
				t.Errorf("%q names no variable that is set", line)
			}
		}
	})
}

// namesSetVariable reports whether a message names a variable of env that
// starts with one of the prefixes.
func namesSetVariable(msg string, env map[string]string) bool {
	for name := range env {
		if (strings.HasPrefix(name, prefixLibprocess) || strings.HasPrefix(name, prefixOld)) && strings.Contains(msg, name) {
			return true
		}
	}
	return false
}
