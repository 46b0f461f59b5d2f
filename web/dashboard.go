package web

import (
	"net/http"
	"time"
)

// dashboardPage is what the dashboard templates receive: the Dashboard as
// server gave it, plus what web derives for display.
type dashboardPage struct {
	Head head
	D    Dashboard
	// Now is the moment ages are counted from (D.Now or the clock).
	Now time.Time
	// LiveURL and RefreshMS drive the self-refresh; RefreshMS 0 turns it
	// off.
	LiveURL   string
	RefreshMS int64
	// Counts are the members per "speaks", in the migration's order,
	// without zeros; Total is the number of members.
	Counts []speaksCount
	Total  int
	// Track is the migration's four stations for the progress line.
	Track []trackStation
	// BlockedDirect are the plain-only members whose direct links a
	// browser on an HTTPS page will refuse (direct mode only).
	BlockedDirect []Ref
}

// head is what the shared page head and header need.
type head struct {
	Viewer  Viewer // who is looking; the zero value shows nothing
	Title   string
	Home    string // the dashboard's path
	Script  bool   // load the dashboard's script
	Version string
	API     string // the JSON view's path; empty shows no link
	Narrow  bool   // a one-column page (the error pages)
}

// speaksCount is one "N members speak X" figure.
type speaksCount struct {
	Speaks Speaks
	N      int
}

// trackStation is one station of the migration's progress line.
type trackStation struct {
	Label string
	// State is "done", "current" or "todo".
	State string
}

// speaksOrder is the order of the migration: where members start, where
// they pass, where they end, then the ones that need attention.
var speaksOrder = []Speaks{SpeaksPlainOnly, SpeaksSSLDowngrade, SpeaksSSLOnly, SpeaksUnreachable, SpeaksUnknown}

// trackLabels name the migration's stations, in order (Phase.Index).
var trackLabels = []string{"Not started", "Phase 1: SSL + downgrade", "Phase 2: downgrade off", "Complete"}

// dashboardPage asks server for the data and derives the rest.
func (p *Pages) dashboardPage(r *http.Request) dashboardPage {
	d := p.data(r)
	now := d.Now
	if now.IsZero() {
		now = p.now()
	}
	if d.Links == "" {
		d.Links = LinksProxy
	}
	page := dashboardPage{
		Head:    head{Title: "Cluster SSL migration", Home: p.DashboardPath(), Script: p.refresh > 0, Version: d.Version, API: p.apiPath, Viewer: d.Viewer},
		D:       d,
		Now:     now,
		LiveURL: p.LivePath(),
		Counts:  countSpeaks(d.Members),
		Total:   len(d.Members),
		Track:   track(d.Phase),
	}
	if p.refresh > 0 {
		page.RefreshMS = p.refresh.Milliseconds()
	}
	if d.Links == LinksDirect {
		for _, m := range d.Members {
			if m.Speaks == SpeaksPlainOnly {
				page.BlockedDirect = append(page.BlockedDirect, Ref{Role: m.Role, ID: m.ID, Address: m.Address})
			}
		}
	}
	return page
}

// countSpeaks counts the members per "speaks" in speaksOrder; values
// outside it count as not probed.
func countSpeaks(members []Member) []speaksCount {
	n := map[Speaks]int{}
	for _, m := range members {
		n[knownSpeaks(m.Speaks)]++
	}
	var out []speaksCount
	for _, s := range speaksOrder {
		if n[s] > 0 {
			out = append(out, speaksCount{Speaks: s, N: n[s]})
		}
	}
	return out
}

// knownSpeaks maps a value web does not know to SpeaksUnknown, so that a
// class name or a count never carries an unexpected string.
func knownSpeaks(s Speaks) Speaks {
	switch s {
	case SpeaksSSLOnly, SpeaksSSLDowngrade, SpeaksPlainOnly, SpeaksUnreachable:
		return s
	}
	return SpeaksUnknown
}

// track marks the stations before the phase done and the phase's own
// current; an unknown phase leaves every station to do.
func track(ph Phase) []trackStation {
	at := ph.Index()
	out := make([]trackStation, len(trackLabels))
	for i, label := range trackLabels {
		state := "todo"
		switch {
		case at < 0:
		case i < at:
			state = "done"
		case i == at:
			state = "current"
		}
		out[i] = trackStation{Label: label, State: state}
	}
	return out
}
