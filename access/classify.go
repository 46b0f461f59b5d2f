package access

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultBodyLimit is how much of an operator call's body Classify reads
// when Classifier.BodyLimit is zero: far more than any read call needs
// (GET_STATE is 20 bytes of JSON), little enough to hold per request.
const DefaultBodyLimit = 64 << 10

// Member says which kind of member a request goes to. It picks the table
// a v1 operator call's number is looked up in, since the master's and the
// agent's Call.Type numbers differ.
type Member uint8

const (
	// AnyMember is a member of unknown kind: a call is a read only when it
	// is a read for masters and agents alike.
	AnyMember Member = iota
	// Master is a Mesos master (the leader or a standby).
	Master
	// Agent is a Mesos agent.
	Agent
)

// Request is what Classify looks at: a request as the member will
// receive it.
type Request struct {
	// Method is the HTTP method, as sent (methods are case-sensitive).
	Method string
	// Path is the path the member will receive, the gateway's prefix
	// already stripped (/master/teardown, /api/v1, /slave(1)/state),
	// escaped or not: each segment is decoded before it is compared.
	Path string
	// Header holds the request's headers; nil means none.
	Header http.Header
	// Body is the request's body; nil means none.
	Body io.ReadCloser
	// Member is the kind of member the request goes to; zero means
	// unknown (AnyMember).
	Member Member
}

// Operation is what a request does to a member. The zero Operation is a
// write: whatever fails to say otherwise needs the operator role.
type Operation struct {
	// Read is true when the request cannot change the cluster.
	Read bool
	// Call is the v1 operator call's type (GET_STATE, TEARDOWN, ...) for
	// POST /api/v1, for audit logs; empty for other requests.
	Call string
	// Reason says why the request is a write, for logs and refusal pages
	// ("the libprocess endpoint /logging/toggle changes the member"); empty
	// for reads.
	Reason string
}

// Holds reports whether the operation is a v1 call whose answer a member
// holds back by design: WAIT_CONTAINER and WAIT_NESTED_CONTAINER answer
// when the container exits, ATTACH_CONTAINER_INPUT when the client's input
// stream ends (src/slave/http.cpp). Their header may come hours later, so
// a proxy must not give up on it after a response header timeout.
func (o Operation) Holds() bool {
	switch o.Call {
	case "WAIT_CONTAINER", "WAIT_NESTED_CONTAINER", "ATTACH_CONTAINER_INPUT":
		return true
	}
	return false
}

// Classifier tells reads from writes. Its zero value is ready to use.
type Classifier struct {
	// BodyLimit is the most bytes of a v1 operator call's body read to find
	// its type; a call that does not fit is a write. Zero means
	// DefaultBodyLimit.
	BodyLimit int
}

// Classify says whether req reads or writes, and returns the body to send
// on in req.Body's place. Only a POST to the v1 operator API has its body
// read: at most BodyLimit bytes, for as long as ctx lasts; the body
// returned replays those bytes and then the rest of req.Body, unread, so
// the member receives exactly what the client sent. A body that cannot be
// classified (too large, undecodable, of an unknown content type, cut off,
// not read before ctx ended) is a write.
//
// Methods other than GET, HEAD and OPTIONS are writes, and so are
// libprocess's read-write endpoints whatever the method.
func (c Classifier) Classify(ctx context.Context, req Request) (Operation, io.ReadCloser) {
	segs := segments(req.Path)
	if endpoint, ok := readWriteEndpoint(segs); ok {
		return Operation{Reason: "the libprocess endpoint " + endpoint + " changes the member"}, req.Body
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Operation{Read: true}, req.Body
	case http.MethodPost:
		if m, ok := operatorAPI(segs, req.Member); ok {
			return c.classifyCall(ctx, m, req.Header, req.Body)
		}
	}
	return Operation{Reason: "the method " + req.Method + " may change the member"}, req.Body
}

// segments splits a path the way libprocess routes it: empty segments do
// not count (process.cpp tokenizes the path on "/"), and each segment is
// percent-decoded (libprocess decodes the process id; decoding the rest
// too only makes more paths match a write).
func segments(p string) []string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
	for i, s := range parts {
		if d, err := url.PathUnescape(s); err == nil {
			parts[i] = d
		}
	}
	return parts
}

// readWriteEndpoint finds a libprocess endpoint that changes a member even
// over GET, anywhere in the path (a process id may stand before it):
//   - logging.cpp: /logging/toggle changes the log level;
//   - profiler.cpp: /profiler/start and /profiler/stop;
//   - memory_profiler.cpp: /memory-profiler/start and /stop change the
//     allocator's state, /download/{raw,text,graph} dump the heap profile
//     (text and graph run jeprof on the member), /state and /statistics
//     describe it; the whole tool is the operator's.
//
// libprocess routes a request to the longest registered prefix of its path
// (ProcessBase::consume), so /logging/toggle/x is /logging/toggle; names
// are compared without case, which only makes more paths writes.
func readWriteEndpoint(segs []string) (string, bool) {
	for i, s := range segs {
		if i+1 == len(segs) {
			break
		}
		next := segs[i+1]
		switch {
		case strings.EqualFold(s, "logging") && strings.EqualFold(next, "toggle"):
			return "/logging/toggle", true
		case strings.EqualFold(s, "profiler"):
			return "/profiler/" + next, true
		case strings.EqualFold(s, "memory-profiler"):
			return "/memory-profiler/" + next, true
		}
	}
	return "", false
}

// operatorAPI reports whether a path is the v1 operator API and of which
// member. The master serves it as /master/api/v1, the agent as
// /slave(N)/api/v1, and each as /api/v1 through libprocess's delegate
// (process.cpp: a path naming no process goes to the delegate). Only the
// exact path counts; /api/v1/scheduler and the like are other endpoints,
// and a POST to them is a write.
func operatorAPI(segs []string, m Member) (Member, bool) {
	switch {
	case len(segs) == 2 && segs[0] == "api" && segs[1] == "v1":
		return m, true
	case len(segs) == 3 && segs[1] == "api" && segs[2] == "v1":
		if segs[0] == "master" {
			return Master, true
		}
		if isAgentProcess(segs[0]) {
			return Agent, true
		}
	}
	return m, false
}

// isAgentProcess reports whether s is an agent's process id, slave(N).
func isAgentProcess(s string) bool {
	n, ok := strings.CutPrefix(s, "slave(")
	if !ok {
		return false
	}
	n, ok = strings.CutSuffix(n, ")")
	if !ok || n == "" {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
