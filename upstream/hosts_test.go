package upstream

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"marathon", "marathon"},
		{"Spark Pi", "spark-pi"},
		{"  jenkins/ci__main ", "jenkins-ci-main"},
		{"ÜberApp", "berapp"},
		{"---", "framework"},
		{"", "framework"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "-b", strings.Repeat("a", 62)},
	} {
		if got := Label(tt.name); got != tt.want {
			t.Errorf("Label(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLabels: names that become one label share it in a fixed order, each
// framework with a label of its own.
func TestLabels(t *testing.T) {
	c := &Cluster{frameworks: map[string]*Framework{}}
	add := func(id, name string, active bool) {
		c.frameworks[id] = &Framework{ID: id, Name: name, WebUIURL: "http://h:1/", Active: active}
	}
	add("F-0001", "Spark", false)
	add("F-0002", "spark", true)
	add("F-0003", "spark", true)
	add("F-0004", "marathon", true)
	c.frameworks["F-0005"] = &Framework{ID: "F-0005", Name: "batch"} // no UI
	labels := c.labelsLocked()
	want := map[string]string{"spark": "F-0003", "spark-f-0001": "F-0001", "spark-f-0002": "F-0002", "marathon": "F-0004"}
	if len(labels) != len(want) {
		t.Fatalf("labels %v", labels)
	}
	for l, id := range want {
		if f := labels[l]; f == nil || f.ID != id {
			t.Errorf("label %s: %v, want %s", l, f, id)
		}
	}
	for i := 0; i < 20; i++ { // the same every time
		for l, f := range c.labelsLocked() {
			if labels[l] != f {
				t.Fatalf("label %s moved to %s", l, f.ID)
			}
		}
	}
}

func TestHostRoute(t *testing.T) {
	for _, tt := range []struct {
		host, domain, label string
		ok                  bool
	}{
		{"marathon.apps.example.com", "apps.example.com", "marathon", true},
		{"Marathon.Apps.Example.com:8443", "apps.example.com", "marathon", true},
		{"marathon.apps.example.com.", "apps.example.com", "marathon", true},
		{"apps.example.com", "apps.example.com", "", false},
		{"a.b.apps.example.com", "apps.example.com", "", false},
		{"marathon.localhost:8443", "localhost", "marathon", true},
		{"gateway.example.com", "apps.example.com", "", false},
		{"marathon.apps.example.com", "", "", false},
		{"[::1]:8443", "localhost", "", false},
	} {
		r, ok := HostRoute(tt.host, tt.domain, "/x")
		if ok != tt.ok || ok && (r.Key != tt.label || r.Kind != KindFrameworkHost || r.Tail != "/x" || r.Prefix != "") {
			t.Errorf("HostRoute(%q, %q) = %+v, %v", tt.host, tt.domain, r, ok)
		}
	}
}
