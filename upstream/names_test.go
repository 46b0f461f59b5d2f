package upstream

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestNameMasters: masters configured by IP are also known by the names
// their addresses have (127.0.0.1 is localhost in /etc/hosts), before
// they lead, so a page's link to "//localhost:port/..." maps to them; a
// name two masters share at one port names neither, and a master
// configured by name gains nothing.
func TestNameMasters(t *testing.T) {
	names, err := net.LookupAddr("127.0.0.1")
	if err != nil || len(names) == 0 {
		t.Fatalf("127.0.0.1 has no name here (%v): /etc/hosts should name it localhost", err)
	}
	name := strings.ToLower(strings.TrimSuffix(names[0], "."))
	c, err := New(Config{Masters: []Master{
		{Address: "127.0.0.1:5050"},
		{Address: "127.0.0.1:5051"}, // the same IP at another port: its own name:port
		{Address: "master.example:5050"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	gen := c.gen.Load()
	c.nameMasters(context.Background())
	if c.gen.Load() == gen {
		t.Error("the link table's generation did not move")
	}
	for _, tt := range []struct {
		addr, alias string
	}{
		{"127.0.0.1:5050", name + ":5050"},
		{"127.0.0.1:5051", name + ":5051"},
	} {
		if !c.masterNamed(tt.addr).named(tt.alias) {
			t.Errorf("%s is not known as %s: %v", tt.addr, tt.alias, c.masterNamed(tt.addr).aliases)
		}
	}
	if a := c.masterNamed("master.example:5050").aliases; !slices.Equal(a, []string{"master.example:5050"}) {
		t.Errorf("a master configured by name has aliases %v", a)
	}

	// A reverse name that is another master's configured address (a PTR
	// record naming master.example for 127.0.0.1) is not taken.
	c.addNames(map[string][]string{"master.example:5050": {"127.0.0.1:5050"}})
	if c.masterNamed("127.0.0.1:5050").named("master.example:5050") {
		t.Error("127.0.0.1:5050 took master.example:5050, another master's address")
	}

	// A name two masters share at one port names neither.
	c.addNames(map[string][]string{"shared.example:5050": {"127.0.0.1:5050", "master.example:5050"}})
	for _, ms := range c.masters {
		if ms.named("shared.example:5050") {
			t.Errorf("%s took the shared name shared.example:5050", ms.m.addr)
		}
	}
}

// masterNamed returns the configured master at addr.
func (c *Cluster) masterNamed(addr string) *masterState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ms := range c.masters {
		if ms.m.addr == addr {
			return ms
		}
	}
	return &masterState{}
}
