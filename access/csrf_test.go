package access

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSameOrigin decides which browser writes come from the gateway.
func TestSameOrigin(t *testing.T) {
	own := []string{"https://gw.example.com", "https://10.0.0.5:8443"}
	tests := []struct {
		name    string
		origins []string
		h       http.Header
		tls     bool
		want    bool
	}{
		{"own_origin", own, header("Origin", "https://gw.example.com"), true, true},
		{"own_origin_default_port", own, header("Origin", "https://GW.example.com:443"), true, true},
		{"second_origin", own, header("Origin", "https://10.0.0.5:8443"), true, true},
		{"foreign_origin", own, header("Origin", "https://evil.example"), true, false},
		{"http_origin", own, header("Origin", "http://gw.example.com"), true, false},
		{"sibling_framework_ui", own, header("Origin", "https://marathon.gw.example.com"), true, false},
		{"null_origin", own, header("Origin", "null"), true, false},
		{"null_origin_cross_site", own, header("Origin", "null", "Sec-Fetch-Site", "cross-site"), true, false},
		{"null_origin_same_site", own, header("Origin", "null", "Sec-Fetch-Site", "same-site"), true, false},
		// A form POST from a page with Referrer-Policy: no-referrer (the
		// gateway's own, the sign-out button's), as Chromium sends it.
		{"null_origin_no_referrer_form", own, header("Origin", "null", "Sec-Fetch-Site", "same-origin"), true, true},
		{"two_origins", own, header("Origin", "https://gw.example.com", "Origin", "https://evil.example"), true, false},
		{"foreign_origin_claims_same_origin", own, header("Origin", "https://evil.example", "Sec-Fetch-Site", "same-origin"), true, false},
		{"fetch_site_same_origin", own, header("Sec-Fetch-Site", "same-origin"), true, true},
		{"fetch_site_same_site", own, header("Sec-Fetch-Site", "same-site"), true, false},
		{"fetch_site_cross_site", own, header("Sec-Fetch-Site", "cross-site"), true, false},
		{"fetch_site_none", own, header("Sec-Fetch-Site", "none"), true, false},
		{"no_browser_headers", own, header(), true, true},
		{"host_when_no_origins", nil, header("Origin", "https://gw.example.com"), true, true},
		{"host_when_no_origins_plain", nil, header("Origin", "https://gw.example.com"), false, false},
		{"foreign_when_no_origins", nil, header("Origin", "https://evil.example"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "https://gw.example.com/master/teardown", nil)
			r.Header = tt.h
			if !tt.tls {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{}
			}
			if got := SameOrigin(r, tt.origins); got != tt.want {
				t.Fatalf("SameOrigin = %v, want %v", got, tt.want)
			}
		})
	}
}
