package main

import (
	"strings"
	"testing"
)

// runMain runs the command line with an injected environment.
func runMain(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(args, env, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigCommand(t *testing.T) {
	t.Run("fresh environment prints every setting", func(t *testing.T) {
		code, out, errOut := runMain(t, []string{"HOME=/home/op"}, "config")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{
			"SETTING", "listen ", ":8443", "ssl-enabled ", "default (gateway: HTTPS on the front; libprocess defaults to false)",
			"cert-source ", "internal", "/home/op/.local/share/mesosgate",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("a bad libprocess boolean: one line, exit 2", func(t *testing.T) {
		code, out, errOut := runMain(t, []string{"HOME=/home/op", "LIBPROCESS_SSL_ENABLED=yes"}, "config")
		want := "mesosgate config: LIBPROCESS_SSL_ENABLED=\"yes\": not a boolean; use true or false (or 1 or 0)\n"
		if code != 2 || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, want)
		}
	})
	t.Run("sources shown", func(t *testing.T) {
		code, out, _ := runMain(t, []string{"HOME=/home/op", "SSL_VERIFICATION_DEPTH=3", "MESOSGATE_LINKS=direct"}, "config", "--listen", ":9443")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{"flag --listen", "env MESOSGATE_LINKS", "env SSL_VERIFICATION_DEPTH"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("warnings go to stderr, the table to stdout", func(t *testing.T) {
		code, out, errOut := runMain(t, []string{"HOME=/home/op", "LIBPROCESS_SSL_VERIFY_CERT=true"}, "config")
		if code != 0 || !strings.HasPrefix(out, "SETTING") {
			t.Fatalf("exit %d, stdout %q", code, out)
		}
		if errOut != "mesosgate config: warning: LIBPROCESS_SSL_VERIFY_CERT is deprecated in libprocess, which renamed it LIBPROCESS_SSL_VERIFY_SERVER_CERT; rename it\n" {
			t.Errorf("stderr %q", errOut)
		}
	})
	t.Run("several problems: one line each", func(t *testing.T) {
		code, _, errOut := runMain(t, []string{"HOME=/home/op"}, "config", "--refresh", "soon", "--links", "maybe")
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], "mesosgate config: --links=") || !strings.HasPrefix(lines[1], "mesosgate config: --refresh=") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("help lists flags with their variables", func(t *testing.T) {
		code, out, errOut := runMain(t, nil, "config", "--help")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{"usage: mesosgate config [flags]", "--listen host:port  [MESOSGATE_LISTEN]",
			"--ssl-ca-file FILE  [MESOSGATE_SSL_CA_FILE, then LIBPROCESS_SSL_CA_FILE (or SSL_...)]"} {
			if !strings.Contains(out, want) {
				t.Errorf("help lacks %q", want)
			}
		}
	})
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, 2, "usage: mesosgate <command>", ""},
		{"help", []string{"help"}, 0, "config ", ""},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, 0, "mesosgate ", ""},
		{"version with arguments", []string{"version", "x"}, 2, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}
