package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file finds the type of a v1 operator call in a request body, the
// way the master and the agent read it (src/master/http.cpp and
// src/slave/http.cpp, Http::api): Content-Type is compared as an exact
// string with application/json, application/x-protobuf or (agents only,
// for a streaming call) application/recordio, whose records are in
// Message-Content-Type. Whatever they would parse differently from us, or
// refuse, is a write here.

// The media types the operator API accepts (src/common/http.hpp).
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/x-protobuf"
	mediaRecordIO = "application/recordio"
)

// classifyCall reads the call in a POST to the operator API.
func (c Classifier) classifyCall(ctx context.Context, m Member, h http.Header, body io.ReadCloser) (Operation, io.ReadCloser) {
	limit := c.BodyLimit
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	// A compressed body is not what Mesos decodes; a second Content-Type
	// could be read either way.
	if enc := h.Values("Content-Encoding"); len(enc) > 0 && !(len(enc) == 1 && enc[0] == "identity") {
		return Operation{Reason: "the operator call is compressed, so its type cannot be read"}, body
	}
	ct := h.Values("Content-Type")
	if len(ct) != 1 {
		return Operation{Reason: "the operator call has no single Content-Type, so its type cannot be read"}, body
	}
	switch ct[0] {
	case mediaJSON, mediaProtobuf:
		return readHead(ctx, body, limit, func(p *prefix) Operation {
			b, err := p.all()
			if err != nil {
				return unreadable(err)
			}
			return decodeCall(m, ct[0], b)
		})
	case mediaRecordIO:
		mct := h.Values("Message-Content-Type")
		if len(mct) != 1 || (mct[0] != mediaJSON && mct[0] != mediaProtobuf) {
			return Operation{Reason: "the streaming operator call has no Message-Content-Type of " + mediaJSON + " or " + mediaProtobuf}, body
		}
		return readHead(ctx, body, limit, func(p *prefix) Operation {
			b, err := firstRecord(p)
			if err != nil {
				return unreadable(err)
			}
			return decodeCall(m, mct[0], b)
		})
	}
	return Operation{Reason: "the operator call's Content-Type " + strconv.Quote(ct[0]) + " is none the operator API reads"}, body
}

// unreadable is the write a body whose call cannot be found is.
func unreadable(err error) Operation {
	if errors.Is(err, errBodyLimit) {
		return Operation{Reason: "the operator call is larger than the gateway reads to classify it"}
	}
	return Operation{Reason: "the operator call cannot be read: " + err.Error()}
}

// decodeCall classifies one encoded Call.
func decodeCall(m Member, mediaType string, b []byte) Operation {
	var (
		call string
		read bool
		err  error
	)
	if mediaType == mediaJSON {
		var name string
		if name, err = jsonCallType(b); err == nil {
			call, read = callByName(m, name)
		}
	} else {
		var n uint64
		if n, err = protobufCallType(b); err == nil {
			call, read = callByNumber(m, n)
		}
	}
	switch {
	case err != nil:
		return unreadable(err)
	case read:
		return Operation{Read: true, Call: call}
	}
	return Operation{Call: call, Reason: "the operator call " + call + " changes the cluster"}
}

// jsonCallType returns the "type" member of a JSON call. Mesos looks the
// member up by its exact name and the enum value by its exact name (stout's
// protobuf.hpp: FindFieldByName, FindValueByName), so a number, a
// differently cased key or value, or a type given twice is unclassifiable;
// so is anything but one object.
func jsonCallType(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", errors.New("the call is not a JSON object")
	}
	var name string
	seen := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		if key != "type" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
			continue
		}
		v, err := dec.Token()
		s, ok := v.(string)
		if err != nil || !ok || seen {
			return "", errors.New(`the call's "type" is not one string`)
		}
		name, seen = s, true
	}
	if _, err := dec.Token(); err != nil {
		return "", err
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("data follows the JSON call")
	}
	if !seen {
		return "", errors.New(`the call has no "type"`)
	}
	return name, nil
}

// protobufCallType returns field 1 (type) of an encoded Call. The whole
// message must decode; as protobuf parsers do, the last occurrence of the
// field wins. Field 1 in another wire type is unclassifiable (a C++ parser
// would keep it as an unknown field).
func protobufCallType(b []byte) (uint64, error) {
	var (
		typ  uint64
		seen bool
	)
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 {
			if wt != protowire.VarintType {
				return 0, errors.New("the call's type is not a varint")
			}
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, protowire.ParseError(n)
			}
			typ, seen, b = v, true, b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, wt, b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if !seen {
		return 0, errors.New("the call has no type")
	}
	return typ, nil
}

// firstRecord reads the first record of a RecordIO stream: its length in
// decimal ASCII, a newline, then that many bytes (Mesos's recordio.hpp).
// The rest of the stream is left unread.
func firstRecord(p *prefix) ([]byte, error) {
	const maxDigits = 19 // fits an int64
	digits, err := p.line(0, maxDigits)
	if err != nil {
		return nil, err
	}
	if len(digits) == 0 {
		return nil, errors.New("the record has no length")
	}
	n := 0
	for _, d := range digits {
		if d < '0' || d > '9' {
			return nil, errors.New("the record length is not a decimal number")
		}
		n = n*10 + int(d-'0')
		if n > p.limit {
			return nil, errBodyLimit
		}
	}
	start := len(digits) + 1
	if err := p.fill(start + n); err != nil {
		return nil, err
	}
	return p.buf[start : start+n], nil
}
