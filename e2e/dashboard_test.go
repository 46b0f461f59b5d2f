package e2e

import (
	"crypto/x509"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestDashboardPhases opens the dashboard of the real gateway (the
// mesosgate binary in front of a simulated cluster of a leader, a standby
// and three agents) once, and keeps it open while the cluster is taken
// through the four phases of the migration. The page follows by itself,
// without a reload; in each phase it shows the phase's banner, next steps
// naming exactly the members still to restart and the LIBPROCESS_SSL_*
// settings to restart them with, and each member's "speaks" badge. A
// screenshot of each phase lands in MESOSGATE_SCREENSHOTS.
func TestDashboardPhases(t *testing.T) {
	browser.Require(t)
	c := startCluster(t, sim.Options{Masters: 2, Agents: 3, Name: "phases"})
	gw := startGatewayWith(t, c, gatewayOptions{
		Env:  []string{"LIBPROCESS_SSL_CA_FILE=" + pki.CAFile},
		Args: []string{"--probe-interval", "1s", "--probe-timeout", "900ms"},
	})
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{gw.cert}, Height: 1000})

	leader, standby := c.Masters()[0], c.Masters()[1]
	agents := c.Agents()
	members := []*sim.Member{leader.Member, standby.Member}
	for _, a := range agents {
		members = append(members, a.Member)
	}
	b.Navigate(gw.url + "/gateway/")
	browser.Eval[bool](b, `window.stillTheSamePage = true`)

	for _, ph := range []struct {
		phase, title, station string
		modes                 []sim.Mode // leader, standby, agents 0 to 2
		// restart is what the members the phase's first step names
		// speak: exactly those are to be restarted in it ("": none named).
		restart  string
		settings []string
	}{
		{
			phase: "not-started", title: "SSL migration not started", station: "Not started",
			modes:    []sim.Mode{sim.Plain, sim.Plain, sim.Plain, sim.Plain, sim.Plain},
			settings: []string{"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", "LIBPROCESS_SSL_CERT_FILE=", "LIBPROCESS_SSL_KEY_FILE="},
		},
		{
			phase: "phase-1", title: "Phase 1 of 2: enable SSL with downgrade", station: "Phase 1: SSL + downgrade",
			modes:    []sim.Mode{sim.Downgrade, sim.Plain, sim.Downgrade, sim.Plain, sim.Plain},
			restart:  "plain-only",
			settings: []string{"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false"},
		},
		{
			phase: "phase-2", title: "Phase 2 of 2: turn downgrade off", station: "Phase 2: downgrade off",
			modes:    []sim.Mode{sim.SSL, sim.Downgrade, sim.SSL, sim.Downgrade, sim.Downgrade},
			restart:  "ssl-downgrade",
			settings: []string{"LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false"},
		},
		{
			phase: "complete", title: "SSL migration complete", station: "Complete",
			modes:    []sim.Mode{sim.SSL, sim.SSL, sim.SSL, sim.SSL, sim.SSL},
			settings: []string{"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true"},
		},
	} {
		// No subtests: the browser belongs to t, and fails t.
		func() {
			want := map[string]string{} // address -> speaks
			for i, m := range members {
				if m.Mode() != ph.modes[i] {
					if err := m.Restart(ph.modes[i]); err != nil {
						t.Fatalf("%s: %v", ph.phase, err)
					}
				}
				want[m.Addr()] = ph.modes[i].Speaks()
			}
			wantJSON, _ := json.Marshal(want)
			// The page refreshes itself; it is never reloaded. Each phase
			// is shown settled: every member probed, and no discovery
			// error (a restarted leader's stream ends, and the refresh
			// that follows may meet it down: the resumed stream clears
			// that).
			b.WaitFor("the dashboard in "+ph.phase, `window.stillTheSamePage && document.getElementById('live').dataset.phase === '`+ph.phase+`' && !document.querySelector('#live .banner') && (() => {
				const want = `+string(wantJSON)+`;
				const rows = Array.from(document.querySelectorAll('tr.member'));
				return rows.length === Object.keys(want).length && rows.every(tr =>
					tr.querySelector('.c-speaks .badge').textContent.trim() === want[tr.querySelector('.addr').textContent.trim()]);
			})()`, 45*time.Second)
			b.Screenshot("dashboard-" + ph.phase)

			if got := browser.Eval[string](b, `document.getElementById('phase-title').textContent`); got != ph.title {
				t.Errorf("%s: phase title %q, want %q", ph.phase, got, ph.title)
			}
			if got := browser.Eval[string](b, `document.querySelector('.station[aria-current=step] .station-label').textContent`); got != ph.station {
				t.Errorf("%s: the progress line marks %q, want %q", ph.phase, got, ph.station)
			}
			// Each badge carries its colour class and explains itself.
			badges := browser.Eval[[]string](b, `Array.from(document.querySelectorAll('tr.member .c-speaks .badge')).map(e => e.className + '|' + e.textContent.trim() + '|' + e.title)`)
			for _, s := range badges {
				parts := strings.SplitN(s, "|", 3)
				if !strings.Contains(parts[0], "badge-"+parts[1]) || parts[2] == "" {
					t.Errorf("%s: badge %q: want class badge-<speaks> and a tooltip", ph.phase, s)
				}
			}
			// Every member answers as it should: no row is marked as a
			// failure (a plain-only member refusing TLS is no error).
			if errRows := browser.Eval[[]string](b, `Array.from(document.querySelectorAll('tr.member.has-error')).map(tr => tr.textContent.replace(/\s+/g, ' ').trim())`); len(errRows) > 0 {
				t.Errorf("%s: rows marked as errors:\n%s", ph.phase, strings.Join(errRows, "\n"))
			}
			counts := browser.Eval[string](b, `document.querySelector('.counts').textContent.replace(/\s+/g, ' ').trim()`)
			if !strings.HasPrefix(counts, strconv.Itoa(len(members))+" members:") {
				t.Errorf("%s: the counts line says %q", ph.phase, counts)
			}

			steps := strings.Join(browser.Eval[[]string](b, `Array.from(document.querySelectorAll('.step-text')).map(e => e.textContent)`), "\n")
			for _, s := range ph.settings {
				if !strings.Contains(steps, s) {
					t.Errorf("%s: the next steps do not say %s:\n%s", ph.phase, s, steps)
				}
			}
			if ph.restart == "" {
				return
			}
			// The step of this phase names exactly the members still to
			// restart in it.
			first := strings.SplitN(steps, "\n", 2)[0]
			for i, m := range members {
				named := strings.Contains(first, m.Addr())
				if toRestart := ph.modes[i].Speaks() == ph.restart; named != toRestart {
					t.Errorf("%s: %s (%s): named in the first step %v, want %v:\n%s", ph.phase, m.Addr(), ph.modes[i].Speaks(), named, toRestart, first)
				}
			}
			for _, a := range agents {
				if strings.Contains(first, a.Addr()) && !strings.Contains(first, a.ID()) {
					t.Errorf("%s: the step names agent %s without its id:\n%s", ph.phase, a.Addr(), first)
				}
			}
		}()
	}
}
