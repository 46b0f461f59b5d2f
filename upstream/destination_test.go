package upstream

import (
	"net/http"
	"testing"
)

// TestSortCookies: a member receives only the cookies members set (under
// their own names), a framework UI all but those.
func TestSortCookies(t *testing.T) {
	browser := "mesos-session=m1; marathon_session=f1; __Host-mesos-sid=m2; __Host-mesosgate-session=g; other=o"
	for _, tt := range []struct {
		name   string
		member bool
		want   string
	}{
		{"member", true, "session=m1; __Host-sid=m2"},
		{"framework UI", false, "marathon_session=f1; __Host-mesosgate-session=g; other=o"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Cookie": {browser}}
			sortCookies(h, tt.member)
			if got := h.Get("Cookie"); got != tt.want {
				t.Errorf("Cookie %q, want %q", got, tt.want)
			}
		})
	}
	h := http.Header{"Cookie": {"marathon_session=f1"}}
	if sortCookies(h, true); h.Values("Cookie") != nil {
		t.Errorf("a member got %q", h.Values("Cookie"))
	}
}
