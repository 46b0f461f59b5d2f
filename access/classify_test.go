package access

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// call is one Call.Type of an operator API: its number, its name, and
// whether it only reads.
type call struct {
	number uint64
	name   string
	read   bool
}

// masterCalls is every master Call.Type of Mesos 1.11.0
// (include/mesos/v1/master/master.proto), written out here so a change to
// the classifier's table shows as a failing test.
var masterCalls = []call{
	{0, "UNKNOWN", false},
	{1, "GET_HEALTH", true}, {2, "GET_FLAGS", true}, {3, "GET_VERSION", true},
	{4, "GET_METRICS", true}, {5, "GET_LOGGING_LEVEL", true},
	{6, "SET_LOGGING_LEVEL", false}, {7, "LIST_FILES", true},
	{8, "READ_FILE", true}, {9, "GET_STATE", true}, {10, "GET_AGENTS", true},
	{11, "GET_FRAMEWORKS", true}, {12, "GET_EXECUTORS", true},
	{33, "GET_OPERATIONS", true}, {13, "GET_TASKS", true}, {14, "GET_ROLES", true},
	{15, "GET_WEIGHTS", true}, {16, "UPDATE_WEIGHTS", false},
	{17, "GET_MASTER", true}, {18, "SUBSCRIBE", true},
	{19, "RESERVE_RESOURCES", false}, {20, "UNRESERVE_RESOURCES", false},
	{21, "CREATE_VOLUMES", false}, {22, "DESTROY_VOLUMES", false},
	{34, "GROW_VOLUME", false}, {35, "SHRINK_VOLUME", false},
	{23, "GET_MAINTENANCE_STATUS", true}, {24, "GET_MAINTENANCE_SCHEDULE", true},
	{25, "UPDATE_MAINTENANCE_SCHEDULE", false}, {26, "START_MAINTENANCE", false},
	{27, "STOP_MAINTENANCE", false}, {37, "DRAIN_AGENT", false},
	{38, "DEACTIVATE_AGENT", false}, {39, "REACTIVATE_AGENT", false},
	{28, "GET_QUOTA", true}, {36, "UPDATE_QUOTA", false},
	{29, "SET_QUOTA", false}, {30, "REMOVE_QUOTA", false},
	{31, "TEARDOWN", false}, {32, "MARK_AGENT_GONE", false},
}

// agentCalls is every agent Call.Type of Mesos 1.11.0
// (include/mesos/v1/agent/agent.proto).
var agentCalls = []call{
	{0, "UNKNOWN", false},
	{1, "GET_HEALTH", true}, {2, "GET_FLAGS", true}, {3, "GET_VERSION", true},
	{4, "GET_METRICS", true}, {5, "GET_LOGGING_LEVEL", true},
	{6, "SET_LOGGING_LEVEL", false}, {7, "LIST_FILES", true},
	{8, "READ_FILE", true}, {9, "GET_STATE", true}, {10, "GET_CONTAINERS", true},
	{11, "GET_FRAMEWORKS", true}, {12, "GET_EXECUTORS", true},
	{31, "GET_OPERATIONS", true}, {13, "GET_TASKS", true}, {20, "GET_AGENT", true},
	{26, "GET_RESOURCE_PROVIDERS", true},
	{14, "LAUNCH_NESTED_CONTAINER", false}, {15, "WAIT_NESTED_CONTAINER", false},
	{16, "KILL_NESTED_CONTAINER", false}, {21, "REMOVE_NESTED_CONTAINER", false},
	{17, "LAUNCH_NESTED_CONTAINER_SESSION", false},
	{18, "ATTACH_CONTAINER_INPUT", false}, {19, "ATTACH_CONTAINER_OUTPUT", false},
	{22, "LAUNCH_CONTAINER", false}, {23, "WAIT_CONTAINER", false},
	{24, "KILL_CONTAINER", false}, {25, "REMOVE_CONTAINER", false},
	{27, "ADD_RESOURCE_PROVIDER_CONFIG", false},
	{28, "UPDATE_RESOURCE_PROVIDER_CONFIG", false},
	{29, "REMOVE_RESOURCE_PROVIDER_CONFIG", false},
	{32, "MARK_RESOURCE_PROVIDER_GONE", false}, {30, "PRUNE_IMAGES", false},
}

// jsonCall, protobufCall and recordIO encode a call as a client would.
func jsonCall(name string) []byte {
	return []byte(`{"type":"` + name + `","get_metrics":{"timeout":{"nanoseconds":5}}}`)
}

func protobufCall(n uint64) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, n)
	// A nested message after the type, as a real call carries.
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendBytes(b, []byte{0x0a, 0x02, 0x08, 0x05})
}

func recordIO(records ...[]byte) []byte {
	var b []byte
	for _, r := range records {
		b = append(b, strconv.Itoa(len(r))+"\n"...)
		b = append(b, r...)
	}
	return b
}

// classify runs the classifier on a POST to path and checks that the body
// it returns replays the body sent, byte for byte.
func classify(t *testing.T, c Classifier, m Member, path string, h http.Header, body []byte) Operation {
	t.Helper()
	op, rest := c.Classify(context.Background(), Request{
		Method: http.MethodPost, Path: path, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), Member: m,
	})
	got, err := io.ReadAll(rest)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("replayed body = %q, %v; want %q", got, err, body)
	}
	return op
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestOperatorCalls classifies every call of both APIs in every encoding.
func TestOperatorCalls(t *testing.T) {
	apis := []struct {
		name   string
		member Member
		path   string
		calls  []call
	}{
		{"master", Master, "/api/v1", masterCalls},
		{"agent", Agent, "/api/v1", agentCalls},
		{"master_by_path", AnyMember, "/master/api/v1", masterCalls},
		{"agent_by_path", AnyMember, "/slave(1)/api/v1", agentCalls},
	}
	for _, api := range apis {
		for _, c := range api.calls {
			bodies := []struct {
				enc  string
				h    http.Header
				body []byte
			}{
				{"json", header("Content-Type", mediaJSON), jsonCall(c.name)},
				{"protobuf", header("Content-Type", mediaProtobuf), protobufCall(c.number)},
				{"recordio_json", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON),
					recordIO(jsonCall(c.name), []byte(`{"type":"ATTACH_CONTAINER_INPUT"}`))},
				{"recordio_protobuf", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaProtobuf),
					recordIO(protobufCall(c.number), protobufCall(c.number))},
			}
			for _, b := range bodies {
				t.Run(api.name+"/"+c.name+"/"+b.enc, func(t *testing.T) {
					op := classify(t, Classifier{}, api.member, api.path, b.h, b.body)
					if op.Read != c.read || op.Call != c.name {
						t.Errorf("got %+v, want read=%v call=%s", op, c.read, c.name)
					}
					if !op.Read && !strings.Contains(op.Reason, c.name) {
						t.Errorf("reason %q does not name the call", op.Reason)
					}
				})
			}
		}
	}
}

// TestOperatorCallsAnyMember checks that for a member of unknown kind a
// call is a read only when it reads on masters and agents alike.
func TestOperatorCallsAnyMember(t *testing.T) {
	tests := []struct {
		name string
		enc  string
		body []byte
		read bool
	}{
		{"get_state_json", mediaJSON, jsonCall("GET_STATE"), true},
		{"get_state_protobuf", mediaProtobuf, protobufCall(9), true},
		{"get_roles_json", mediaJSON, jsonCall("GET_ROLES"), true}, // an agent refuses the name
		{"14_is_get_roles_or_launch", mediaProtobuf, protobufCall(14), false},
		{"20_is_unreserve_or_get_agent", mediaProtobuf, protobufCall(20), false},
		{"teardown_json", mediaJSON, jsonCall("TEARDOWN"), false},
		{"launch_container_json", mediaJSON, jsonCall("LAUNCH_CONTAINER"), false},
		{"unknown_number", mediaProtobuf, protobufCall(99), false},
		{"unknown_name", mediaJSON, jsonCall("GET_EVERYTHING"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := classify(t, Classifier{}, AnyMember, "/api/v1", header("Content-Type", tt.enc), tt.body)
			if op.Read != tt.read {
				t.Errorf("got %+v, want read=%v", op, tt.read)
			}
		})
	}
}

// TestUnclassifiableBodies checks that every body whose call cannot be
// found for sure is a write.
func TestUnclassifiableBodies(t *testing.T) {
	big := append([]byte(`{"type":"GET_STATE","pad":"`), bytes.Repeat([]byte("x"), 70<<10)...)
	big = append(big, `"}`...)
	tests := []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"no_content_type", header(), jsonCall("GET_STATE")},
		{"two_content_types", header("Content-Type", mediaJSON, "Content-Type", mediaProtobuf), jsonCall("GET_STATE")},
		{"content_type_with_parameter", header("Content-Type", mediaJSON+"; charset=utf-8"), jsonCall("GET_STATE")},
		{"text_plain", header("Content-Type", "text/plain"), jsonCall("GET_STATE")},
		{"gzip", header("Content-Type", mediaJSON, "Content-Encoding", "gzip"), jsonCall("GET_STATE")},
		{"empty_body", header("Content-Type", mediaJSON), nil},
		{"over_the_limit", header("Content-Type", mediaJSON), big},
		{"json_array", header("Content-Type", mediaJSON), []byte(`[{"type":"GET_STATE"}]`)},
		{"json_no_type", header("Content-Type", mediaJSON), []byte(`{"get_state":{}}`)},
		{"json_type_number", header("Content-Type", mediaJSON), []byte(`{"type":9}`)},
		{"json_type_twice", header("Content-Type", mediaJSON), []byte(`{"type":"GET_STATE","type":"TEARDOWN"}`)},
		{"json_type_twice_escaped", header("Content-Type", mediaJSON), []byte(`{"type":"GET_STATE","typ\u0065":"TEARDOWN"}`)},
		{"json_type_lowercase", header("Content-Type", mediaJSON), []byte(`{"type":"get_state"}`)},
		{"json_key_uppercase", header("Content-Type", mediaJSON), []byte(`{"Type":"GET_STATE"}`)},
		{"json_trailing_data", header("Content-Type", mediaJSON), []byte(`{"type":"GET_STATE"}{"type":"TEARDOWN"}`)},
		{"json_truncated", header("Content-Type", mediaJSON), []byte(`{"type":"GET_STATE",`)},
		{"protobuf_no_type", header("Content-Type", mediaProtobuf), protowire.AppendBytes(protowire.AppendTag(nil, 4, protowire.BytesType), nil)},
		{"protobuf_type_as_bytes", header("Content-Type", mediaProtobuf), protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{9})},
		{"protobuf_last_type_wins", header("Content-Type", mediaProtobuf), append(protobufCall(9), protobufCall(31)...)},
		{"protobuf_truncated", header("Content-Type", mediaProtobuf), protobufCall(9)[:4]},
		{"protobuf_huge_varint", header("Content-Type", mediaProtobuf), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1<<32+9)},
		{"recordio_no_message_type", header("Content-Type", mediaRecordIO), recordIO(jsonCall("GET_STATE"))},
		{"recordio_bad_length", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON), []byte("+20\n" + string(jsonCall("GET_STATE")))},
		{"recordio_short_record", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON), []byte("200\n" + string(jsonCall("GET_STATE")))},
		{"recordio_huge_length", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON), []byte("99999999999999999999999\n{}")},
		{"recordio_empty_length", header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON), []byte("\n{}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := classify(t, Classifier{}, Master, "/api/v1", tt.h, tt.body)
			if op.Read || op.Reason == "" {
				t.Errorf("got %+v, want a write with a reason", op)
			}
		})
	}
}

// TestPaths classifies requests by method and path.
func TestPaths(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		read   bool
	}{
		{"state", "GET", "/master/state", true},
		{"agent_state", "GET", "/slave(1)/state", true},
		{"head", "HEAD", "/master/state", true},
		{"options", "OPTIONS", "/master/teardown", true},
		{"teardown_post", "POST", "/master/teardown", false},
		{"put", "PUT", "/master/quota", false},
		{"delete", "DELETE", "/master/quota/role", false},
		{"lowercase_get", "get", "/master/state", false},
		{"logging_toggle", "GET", "/logging/toggle", false},
		{"logging_toggle_query_free_trailing_slash", "GET", "/logging/toggle/", false},
		{"logging_toggle_double_slash", "GET", "/logging//toggle", false},
		{"logging_toggle_subpath", "GET", "/logging/toggle/x", false},
		{"logging_toggle_encoded", "GET", "/%6Cogging/toggle", false},
		{"logging_toggle_under_process", "GET", "/slave(1)/logging/toggle", false},
		{"logging_toggle_case", "GET", "/Logging/Toggle", false},
		{"profiler_start", "GET", "/profiler/start", false},
		{"profiler_stop", "GET", "/profiler/stop", false},
		{"memory_profiler_start", "GET", "/memory-profiler/start", false},
		{"memory_profiler_download", "GET", "/memory-profiler/download/raw", false},
		{"memory_profiler_state", "GET", "/memory-profiler/state", false},
		{"logging_alone", "GET", "/logging", true},
		{"metrics", "GET", "/metrics/snapshot", true},
		{"files_read", "GET", "/files/read", true},
		{"scheduler_api", "POST", "/api/v1/scheduler", false},
		{"api_v1_get", "GET", "/api/v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, _ := Classifier{}.Classify(context.Background(), Request{Method: tt.method, Path: tt.path})
			if op.Read != tt.read {
				t.Errorf("%s %s: got %+v, want read=%v", tt.method, tt.path, op, tt.read)
			}
			if !op.Read && op.Reason == "" {
				t.Errorf("%s %s: a write without a reason", tt.method, tt.path)
			}
		})
	}
}

// countingReader is an endless body that counts the bytes read from it.
type countingReader struct{ n int }

func (c *countingReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = ' '
	}
	c.n += len(b)
	return len(b), nil
}

// TestBodyNeverBufferedWhole sends an endless RecordIO stream: the first
// record is classified, no more than the limit is read, and the member
// gets the stream from its first byte.
func TestBodyNeverBufferedWhole(t *testing.T) {
	first := recordIO([]byte(`{"type":"ATTACH_CONTAINER_INPUT","attach_container_input":{}}`))
	src := &countingReader{}
	body := io.NopCloser(io.MultiReader(bytes.NewReader(first), src))
	c := Classifier{BodyLimit: 1024}
	op, rest := c.Classify(context.Background(), Request{
		Method: "POST", Path: "/api/v1", Member: Agent, Body: body,
		Header: header("Content-Type", mediaRecordIO, "Message-Content-Type", mediaJSON),
	})
	if op.Read || op.Call != "ATTACH_CONTAINER_INPUT" {
		t.Fatalf("got %+v, want the write ATTACH_CONTAINER_INPUT", op)
	}
	if src.n > c.BodyLimit {
		t.Fatalf("read %d bytes past the call, over the %d-byte limit", src.n, c.BodyLimit)
	}
	got := make([]byte, len(first)+100)
	if _, err := io.ReadFull(rest, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(first)], first) || strings.Trim(string(got[len(first):]), " ") != "" {
		t.Fatalf("replayed %q", got)
	}

	// A JSON body over the limit stops being read at the limit.
	src = &countingReader{}
	op, rest = c.Classify(context.Background(), Request{
		Method: "POST", Path: "/api/v1", Member: Master, Header: header("Content-Type", mediaJSON),
		Body: io.NopCloser(io.MultiReader(strings.NewReader(`{"type":"GET_STATE","x":"`), src)),
	})
	if op.Read || src.n > c.BodyLimit {
		t.Fatalf("got %+v after reading %d bytes", op, src.n)
	}
	rest.Close()
}

// TestBodyBoundedByContext checks that a client that stops sending mid-call
// makes a write once the context ends, and that the reader goroutine ends
// when the body is closed.
func TestBodyBoundedByContext(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte(`{"type":"GET_`)) // and nothing more
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	op, rest := Classifier{}.Classify(ctx, Request{
		Method: "POST", Path: "/api/v1", Header: header("Content-Type", mediaJSON), Body: pr,
	})
	if op.Read || !strings.Contains(op.Reason, "in time") {
		t.Fatalf("got %+v, want a write not read in time", op)
	}
	if _, err := rest.Read(make([]byte, 1)); err != context.DeadlineExceeded {
		t.Fatalf("reading the body sent on: %v, want %v", err, context.DeadlineExceeded)
	}
	rest.Close() // ends the reader goroutine, as net/http does after the handler
	pw.Close()
}

// TestReplayKeepsReadError checks that an error while reading the call
// reaches the member too, after the bytes that came before it.
func TestReplayKeepsReadError(t *testing.T) {
	broken := fmt.Errorf("connection reset")
	body := io.NopCloser(io.MultiReader(strings.NewReader(`{"type":`), errReader{broken}))
	op, rest := Classifier{}.Classify(context.Background(), Request{
		Method: "POST", Path: "/api/v1", Header: header("Content-Type", mediaJSON), Body: body,
	})
	got, err := io.ReadAll(rest)
	if op.Read || string(got) != `{"type":` || err != broken {
		t.Fatalf("got %+v, replay %q, %v", op, got, err)
	}
}

// TestHolds: of every call of both APIs, exactly the agent's three that
// answer when something ends (a container's exit, the client's input)
// hold their answer by design.
func TestHolds(t *testing.T) {
	want := []string{"WAIT_NESTED_CONTAINER", "ATTACH_CONTAINER_INPUT", "WAIT_CONTAINER"}
	var got []string
	for _, c := range append(slices.Clone(masterCalls), agentCalls...) {
		if (Operation{Call: c.name}).Holds() {
			got = append(got, c.name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("calls that hold their answer: %v, want %v", got, want)
	}
}
