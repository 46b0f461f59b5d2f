package upstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		agents  int
		fws     int
		wantErr string
	}{
		{"state-summary", `{"hostname": "m1", "slaves": [{"id": "S0", "hostname": "a1", "pid": "slave(1)@10.0.0.5:5051", "port": 5051, "active": true}],
			"frameworks": [{"id": "F0", "name": "marathon", "webui_url": "http://m:8080", "active": true}, {"id": "F1", "name": "batch", "webui_url": null}]}`, 1, 2, ""},
		{"state with leader_info", `{"id": "M", "pid": "master@10.0.0.1:5050", "leader_info": {"id": "M", "pid": "master@10.0.0.1:5050", "hostname": "m1", "port": 5050},
			"slaves": [], "frameworks": []}`, 0, 0, ""},
		{"empty", ``, 0, 0, "the document ends early"},
		{"an error page", `<html>`, 0, 0, "malformed state JSON at byte 1"},
		{"no lists", `{"id": "M"}`, 0, 0, `no "slaves" and "frameworks" lists`},
		{"slaves not a list", `{"slaves": {}, "frameworks": []}`, 0, 0, "slaves is a object, not a"},
		{"port a string", `{"slaves": [{"id": "S0", "port": "5051"}], "frameworks": []}`, 0, 0, "slaves.port is a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseState(strings.NewReader(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(s.agents) != tt.agents || len(s.frameworks) != tt.fws {
				t.Fatalf("state %+v, %v", s, err)
			}
		})
	}
}

func TestAgentAddress(t *testing.T) {
	tests := []struct {
		pid, hostname string
		port          int
		addr          string
		ok            bool
	}{
		{"slave(1)@10.0.0.5:5051", "a1", 5051, "10.0.0.5:5051", true},
		{"slave(1)@[::1]:5051", "a1", 5051, "[::1]:5051", true},
		{"slave(1)@a1.example.com:5051", "a1.example.com", 5051, "a1.example.com:5051", true},
		{"", "a1", 5051, "a1:5051", true},
		{"garbage", "", 0, "", false},
		{"slave(1)@10.0.0.5:0", "", 0, "", false},
	}
	for _, tt := range tests {
		addr, _, ok := agentAddress(tt.pid, tt.hostname, tt.port)
		if addr != tt.addr || ok != tt.ok {
			t.Errorf("agentAddress(%q, %q, %d) = %q, %v; want %q, %v", tt.pid, tt.hostname, tt.port, addr, ok, tt.addr, tt.ok)
		}
	}
}

func TestRedirectTarget(t *testing.T) {
	for loc, want := range map[string]string{
		"//m2:5050/master/state":       "m2:5050",
		"//m2:5050":                    "m2:5050",
		"https://m2:5050/master/state": "m2:5050",
		"//[::1]:5050/master/redirect": "[::1]:5050",
		"/master/state":                "",
		"//m2/master/state":            "",
		"":                             "",
		"http://%zz":                   "",
	} {
		got, err := redirectTarget(loc)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("redirectTarget(%q) = %q, %v; want %q", loc, got, err, want)
		}
	}
}

func TestRecordReader(t *testing.T) {
	rr := newRecordReader(strings.NewReader("5\nhello0\n3\nabc"))
	for _, want := range []string{"hello", "", "abc"} {
		rec, err := rr.next()
		if err != nil || string(rec) != want {
			t.Fatalf("record %q, %v; want %q", rec, err, want)
		}
	}
	if _, err := rr.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v", err)
	}
	for in, want := range map[string]string{
		"x\n{}":                   "is not a number",
		"+2\n{}":                  "is not a number",
		"10\nshort":               "unexpected EOF",
		"99999999999999\n":        "larger than",
		strings.Repeat("1", 5000): "longer than a buffer",
	} {
		if _, err := newRecordReader(strings.NewReader(in)).next(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: %v, want %q", in, err, want)
		}
	}
}

func TestParseEvent(t *testing.T) {
	for in, want := range map[string]string{
		`{"type": "HEARTBEAT"}`:     "",
		`{"type": "SOMETHING_NEW"}`: "",
		`{"type": "AGENT_ADDED"}`:   "malformed AGENT_ADDED event: its body is missing",
		`{}`:                        `no "type"`,
		`[1, 2]`:                    "malformed event JSON",
		`{"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": "S1"}}}`: "",
	} {
		_, err := parseEvent([]byte(in))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("parseEvent(%s): %v, want %q", in, err, want)
		}
	}
}

// FuzzParseState: any document is a state or an error, never a panic.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"slaves": [{"id": "S0", "pid": "slave(1)@10.0.0.5:5051", "hostname": "a"}], "frameworks": [{"id": "F", "webui_url": null}]}`))
	f.Add([]byte(`{"leader_info": {"id": "M", "port": 5050}, "slaves": [], "frameworks": []}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := parseState(bytes.NewReader(doc))
		if err == nil && (s.agents == nil || s.frameworks == nil) {
			t.Errorf("a state without lists: %+v", s)
		}
		if err == nil {
			for _, a := range s.agents {
				agentAddress(a.pid, a.hostname, a.port)
			}
		}
	})
}

// FuzzRecordIO: any stream gives records or an error, and the records
// hold exactly the bytes their lengths announce.
func FuzzRecordIO(f *testing.F) {
	f.Add([]byte("2\n{}21\n{\"type\":\"HEARTBEAT\"}"))
	f.Add([]byte("0\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		rr := newRecordReader(bytes.NewReader(stream))
		total := 0
		for range 1000 {
			rec, err := rr.next()
			if err != nil {
				break
			}
			total += len(rec)
			if ev, err := parseEvent(rec); err == nil && ev.Type == "" {
				t.Errorf("an event without a type: %q", rec)
			}
		}
		if total > len(stream) {
			t.Errorf("records hold %d bytes of a %d-byte stream", total, len(stream))
		}
	})
}
