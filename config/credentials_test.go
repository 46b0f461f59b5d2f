package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCredential(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    Credential
		wantErr string
	}{
		{"one credential", `{"principal": "gateway", "secret": "s3cret"}`, Credential{"gateway", "s3cret"}, ""},
		{"credentials with one entry", `{"credentials": [{"principal": "gateway", "secret": "s3cret"}]}`, Credential{"gateway", "s3cret"}, ""},
		{"no secret", `{"principal": "gateway"}`, Credential{"gateway", ""}, ""},
		{"unknown fields ignored", `{"principal": "gateway", "secret": "s3cret", "comment": 1}`, Credential{"gateway", "s3cret"}, ""},
		{"empty", " \n", Credential{}, "is empty"},
		{"not json", `gateway s3cret-in-text`, Credential{}, "is not valid JSON (error at byte 1)"},
		{"secret a number", `{"principal": "gateway", "secret": 12345}`, Credential{}, "must be strings"},
		{"no principal", `{"secret": "s3cret"}`, Credential{}, `has no "principal"`},
		{"two credentials", `{"credentials": [{"principal": "a", "secret": "s3cret"}, {"principal": "b", "secret": "s3cret"}]}`, Credential{}, "holds 2 credentials"},
		{"no credentials", `{"credentials": []}`, Credential{}, "holds 0 credentials"},
		{"both shapes", `{"principal": "a", "credentials": [{"principal": "b"}]}`, Credential{}, "keep one of the two shapes"},
		{"colon in principal", `{"principal": "a:b", "secret": "s3cret"}`, Credential{}, "colon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredential([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

// TestCredentialHidesSecret: every way of printing a Credential hides the
// secret.
func TestCredentialHidesSecret(t *testing.T) {
	c := Credential{Principal: "gateway", Secret: "s3cret"}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("discovery", "credential", c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), log.String()} {
		if strings.Contains(s, "s3cret") || !strings.Contains(s, "gateway") {
			t.Errorf("printed %q", s)
		}
	}
}

func TestMasterCredentialsSetting(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "credential.json")
	if err := os.WriteFile(good, []byte(`{"principal": "gateway", "secret": "s3cret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open.json")
	if err := os.WriteFile(open, []byte(`{"credentials": [{"principal": "ops", "secret": "s3cret"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`principal s3cret`), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("gateway reads the file, prints only its path", func(t *testing.T) {
		g := loadGateway(t, "config", []string{"--master-credentials", good}, baseEnv())
		if g.MasterCredentials != good || g.MasterCredential != (Credential{"gateway", "s3cret"}) {
			t.Errorf("credential %q %#v", g.MasterCredentials, g.MasterCredential)
		}
		if len(g.Warnings) != 0 {
			t.Errorf("warnings %q", g.Warnings)
		}
		var out strings.Builder
		if err := g.Print(&out); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), good) {
			t.Errorf("printed settings:\n%s", out.String())
		}
	})
	t.Run("probe through the environment; open permissions warned about", func(t *testing.T) {
		p, err := LoadProbe([]string{"--master", "m1:5050"}, []string{"MESOSGATE_MASTER_CREDENTIALS=" + open})
		if err != nil {
			t.Fatal(err)
		}
		if p.MasterCredential.Principal != "ops" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "accessible by others (mode 0644)") {
			t.Errorf("credential %#v, warnings %q", p.MasterCredential, p.Warnings)
		}
	})
	t.Run("a bad file: one line naming the setting", func(t *testing.T) {
		_, err := LoadCerts([]string{"--master", "m1:5050", "--out", dir, "--master-credentials", bad}, nil)
		want := fmt.Sprintf("--master-credentials=%q: is not valid JSON", bad)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %v, want %q", err, want)
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		_, err := Load("serve", []string{"--master", "m1:5050", "--master-credentials", filepath.Join(dir, "missing")}, baseEnv())
		if err == nil || !strings.Contains(err.Error(), "does not exist; check the path") {
			t.Errorf("error %v", err)
		}
	})
}

// FuzzParseCredential: any file content gives a credential or an error
// that never quotes the content.
func FuzzParseCredential(f *testing.F) {
	f.Add([]byte(`{"principal": "gateway", "secret": "s3cret"}`))
	f.Add([]byte(`{"credentials": [{"principal": "gateway", "secret": "s3cret"}]}`))
	f.Add([]byte(`{"credentials": null, "principal": "x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredential(data)
		if err != nil {
			if c != (Credential{}) {
				t.Errorf("credential %#v with error %v", c, err)
			}
			return
		}
		if c.Principal == "" || strings.ContainsAny(c.Principal, ":\r\n") {
			t.Errorf("accepted principal %q", c.Principal)
		}
	})
}
