package zookeeper

import (
	"net/netip"
	"strings"
	"testing"
)

// mesos111JSON is a json.info_ znode as a Mesos 1.11 master writes it
// (JSON::protobuf of MasterInfo, fields in name order, capabilities and
// domain included): ip 16777226 is 10.0.0.1 in network order.
const mesos111JSON = `{"address":{"hostname":"master1.example.com","ip":"10.0.0.1","port":5050},` +
	`"capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},{"type":"QUOTA_V2"}],` +
	`"domain":{"fault_domain":{"region":{"name":"eu"},"zone":{"name":"eu-1"}}},` +
	`"hostname":"master1.example.com","id":"3c4f5b1e-2f6c-4c1e-9f55-1c2b9e6d7a10","ip":16777226,` +
	`"pid":"master@10.0.0.1:5050","port":5050,"version":"1.11.0"}`

// mesos023Protobuf is an info_ znode as Mesos 0.23 serializes MasterInfo,
// written out by hand: id "abc" (field 1), ip 16777343 = 127.0.0.1 (2,
// varint ff 80 80 08), port 5050 (3, varint ba 27), pid (4), hostname
// (5), version (6), and an unknown empty field 8 a later reader skips.
const mesos023Protobuf = "\x0a\x03abc" + "\x10\xff\x80\x80\x08" + "\x18\xba\x27" +
	"\x22\x15master@127.0.0.1:5050" + "\x2a\x09localhost" + "\x32\x060.23.0" + "\x42\x00"

func TestDecodeMaster(t *testing.T) {
	tests := []struct {
		name, label, data string
		want              Master
	}{
		{"mesos 1.11 json", LabelJSON, mesos111JSON, Master{ID: "3c4f5b1e-2f6c-4c1e-9f55-1c2b9e6d7a10", Hostname: "master1.example.com",
			IP: netip.MustParseAddr("10.0.0.1"), Port: 5050, PID: "master@10.0.0.1:5050", Version: "1.11.0"}},
		{"mesos 0.24 json without address", LabelJSON, `{"hostname":"m","id":"x","ip":16777343,"pid":"master@127.0.0.1:5051","port":5051,"version":"0.24.0"}`,
			Master{ID: "x", Hostname: "m", IP: netip.MustParseAddr("127.0.0.1"), Port: 5051, PID: "master@127.0.0.1:5051", Version: "0.24.0"}},
		{"address wins over ip and port", LabelJSON, `{"id":"x","ip":16777343,"port":1,"address":{"ip":"10.1.2.3","port":5050,"hostname":"h"},"hostname":"old"}`,
			Master{ID: "x", Hostname: "h", IP: netip.MustParseAddr("10.1.2.3"), Port: 5050}},
		{"pid when ip is zero", LabelJSON, `{"id":"x","ip":0,"port":5050,"pid":"master@10.9.8.7:5050"}`,
			Master{ID: "x", IP: netip.MustParseAddr("10.9.8.7"), Port: 5050, PID: "master@10.9.8.7:5050"}},
		{"hostname only", LabelJSON, `{"id":"x","ip":0,"port":5050,"address":{"hostname":"m1","port":5050}}`,
			Master{ID: "x", Hostname: "m1", Port: 5050}},
		{"mesos 0.23 protobuf", LabelProtobuf, mesos023Protobuf, Master{ID: "abc", Hostname: "localhost",
			IP: netip.MustParseAddr("127.0.0.1"), Port: 5050, PID: "master@127.0.0.1:5050", Version: "0.23.0"}},
		{"pre-0.23 pid", "", "master@10.0.0.2:5050", Master{ID: "master@10.0.0.2:5050", IP: netip.MustParseAddr("10.0.0.2"), Port: 5050, PID: "master@10.0.0.2:5050"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMaster(tt.label, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("decoded\n%+v, want\n%+v", got, tt.want)
			}
		})
	}
}

func TestDecodeMasterGarbage(t *testing.T) {
	tests := []struct{ name, label, data, want string }{
		{"empty json", LabelJSON, "", "not MasterInfo JSON"},
		{"truncated json", LabelJSON, `{"id":"x",`, "not MasterInfo JSON"},
		{"json null", LabelJSON, "null", "lacks a required field"},
		{"json without port", LabelJSON, `{"id":"x","ip":1}`, "lacks a required field"},
		{"json ip as string", LabelJSON, `{"id":"x","ip":"10.0.0.1","port":5050}`, "not MasterInfo JSON"},
		{"json ip too large", LabelJSON, `{"id":"x","ip":4294967296,"port":5050}`, "not MasterInfo JSON"},
		{"json port out of range", LabelJSON, `{"id":"x","ip":16777343,"port":70000}`, "port 70000"},
		{"json address without port", LabelJSON, `{"id":"x","ip":1,"port":5050,"address":{"ip":"10.0.0.1"}}`, "lacks its port"},
		{"json nowhere to connect", LabelJSON, `{"id":"x","ip":0,"port":5050}`, "neither an IP nor a hostname"},
		{"protobuf garbage", LabelProtobuf, "\xff\xff\xff", "not a MasterInfo protobuf"},
		{"protobuf truncated", LabelProtobuf, mesos023Protobuf[:12], "not a MasterInfo protobuf"},
		{"protobuf without id", LabelProtobuf, mesos023Protobuf[5:], "required field"},
		{"protobuf wrong wire type", LabelProtobuf, "\x0d\x00\x00\x00\x00", "wire type"},
		{"json in a protobuf node", LabelProtobuf, mesos111JSON, "not a MasterInfo protobuf"},
		{"pid garbage", "", "hello", "not a libprocess pid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeMaster(tt.label, []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestEncodeMasterInfo: what simulated masters write reads back, and the
// protobuf form is byte for byte what the hand-written 0.23 node holds.
func TestEncodeMasterInfo(t *testing.T) {
	m := Master{ID: "abc", Hostname: "localhost", IP: netip.MustParseAddr("127.0.0.1"), Port: 5050, PID: "master@127.0.0.1:5050", Version: "0.23.0"}
	for _, label := range []string{LabelJSON, LabelProtobuf} {
		t.Run(label, func(t *testing.T) {
			data, err := EncodeMasterInfo(label, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeMaster(label, data)
			if err != nil || got != m {
				t.Errorf("round trip: %+v, %v", got, err)
			}
		})
	}
	pb, _ := EncodeMasterInfo(LabelProtobuf, m)
	if want := strings.TrimSuffix(mesos023Protobuf, "\x42\x00"); string(pb) != want {
		t.Errorf("protobuf %q, want %q", pb, want)
	}
	if ip := NetworkOrderIP(netip.MustParseAddr("10.0.0.1")); ip != 16777226 {
		t.Errorf("NetworkOrderIP(10.0.0.1) = %d, want 16777226", ip)
	}
	if _, err := EncodeMasterInfo(LabelJSON, Master{IP: netip.MustParseAddr("::1")}); err == nil {
		t.Error("an IPv6 MasterInfo.ip encoded")
	}
}

func TestParseChild(t *testing.T) {
	tests := []struct {
		name, child, label string
		seq                int32
		ok                 bool
	}{
		{"json", "json.info_0000000003", LabelJSON, 3, true},
		{"protobuf", "info_0000000012", LabelProtobuf, 12, true},
		{"pre-0.23", "0000000007", "", 7, true},
		{"log replicas", "log_replicas", "", 0, false},
		{"other label", "lock_0000000001", "", 0, false},
		{"no sequence", "json.info_", "", 0, false},
		{"signed", "json.info_-000000001", "", 0, false},
		{"too large", "json.info_9999999999", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := parseChild(tt.child)
			if ok != tt.ok || (ok && (c.label != tt.label || c.sequence != tt.seq)) {
				t.Errorf("parseChild(%q) = %+v, %v", tt.child, c, ok)
			}
		})
	}
}

func TestLeader(t *testing.T) {
	a, b := Master{ID: "a", Sequence: 2}, Master{ID: "b", Sequence: 5}
	tests := []struct {
		name string
		g    Group
		want string
	}{
		{"lowest leads", Group{Masters: []Master{a, b}}, "a"},
		{"none", Group{}, ""},
		{"garbage after the leader", Group{Masters: []Master{a, b}, Skipped: []Skipped{{Sequence: 3}}}, "a"},
		{"garbage before the leader", Group{Masters: []Master{a, b}, Skipped: []Skipped{{Sequence: 1}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := tt.g.Leader()
			if ok != (tt.want != "") || m.ID != tt.want {
				t.Errorf("Leader() = %q, %v; want %q", m.ID, ok, tt.want)
			}
		})
	}
}

// fuzzDecode checks a decoder never panics and that what it accepts is
// usable and survives a round trip through EncodeMasterInfo.
func fuzzDecode(t *testing.T, label string, data []byte) {
	m, err := decodeMaster(label, data)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
		return
	}
	if m.Port < 1 || m.Port > 65535 || (!m.IP.IsValid() && m.Hostname == "") {
		t.Fatalf("accepted %+v", m)
	}
	if !m.IP.Is4() {
		return
	}
	out, err := EncodeMasterInfo(label, m)
	if err != nil {
		t.Fatal(err)
	}
	again, err := decodeMaster(label, out)
	if err != nil || again.Addr() != m.Addr() {
		t.Errorf("round trip of %+v: %+v, %v", m, again, err)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(mesos111JSON))
	f.Add([]byte(`{"id":"x","ip":0,"port":5050,"pid":"master@10.9.8.7:5050"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, LabelJSON, data) })
}

func FuzzDecodeProtobuf(f *testing.F) {
	f.Add([]byte(mesos023Protobuf))
	f.Add([]byte("\x0a\x01x\x10\x00\x18\x01\x3a\x0a\x0a\x01h\x12\x01z\x18\xba\x27"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, LabelProtobuf, data) })
}
