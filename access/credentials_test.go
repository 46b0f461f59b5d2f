package access

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestIsGatewayCredential tells the gateway's credentials from Mesos's.
func TestIsGatewayCredential(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"bearer", "Bearer eyJ", true},
		{"bearer_lowercase", "bearer eyJ", true},
		{"basic", "Basic YWxpY2U6c2VjcmV0", false},
		{"other_scheme", "Negotiate abc", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsGatewayCredential(tt.value); got != tt.want {
				t.Fatalf("IsGatewayCredential(%q) = %v", tt.value, got)
			}
		})
	}
}

// TestStripCredentials keeps Basic credentials and other cookies and
// drops what is the gateway's.
func TestStripCredentials(t *testing.T) {
	h := header(
		"Authorization", "Bearer eyJ.secret",
		"Authorization", "Basic YWxpY2U6c2VjcmV0",
		"Cookie", SessionCookie+"=sealed; theme=dark",
		"Cookie", LoginCookie+"=x",
	)
	StripCredentials(h)
	if got := h.Values("Authorization"); !slices.Equal(got, []string{"Basic YWxpY2U6c2VjcmV0"}) {
		t.Errorf("Authorization = %q", got)
	}
	if got := h.Values("Cookie"); !slices.Equal(got, []string{"theme=dark"}) {
		t.Errorf("Cookie = %q", got)
	}
	empty := http.Header{}
	StripCredentials(empty)
	if len(empty) != 0 {
		t.Errorf("headers added: %v", empty)
	}
}

// TestSecretHidden prints a secret every way a log or error might.
func TestSecretHidden(t *testing.T) {
	s := Secret("s3cr3t-value")
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "secret", s, "config", struct{ ClientSecret Secret }{s})
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %q %x %#v %+v", s, s, s, s, s, struct{ ClientSecret Secret }{s}),
		fmt.Sprintf("%#v", struct{ ClientSecret Secret }{s}), fmt.Errorf("oops: %v", s).Error(), logged.String(),
	}
	for _, out := range outs {
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, fmt.Sprintf("%x", "s3cr3t")) {
			t.Errorf("secret shown: %s", out)
		}
	}
	if s.Reveal() != "s3cr3t-value" {
		t.Error("Reveal lost the value")
	}
}
