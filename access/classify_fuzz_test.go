package access

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// FuzzClassify checks, for any request to the operator API or elsewhere,
// that the body sent on is the body received, and that a read is either a
// safe method on a path that is no read-write endpoint or a read call.
// Seeds are in testdata/fuzz/FuzzClassify.
func FuzzClassify(f *testing.F) {
	f.Add("POST", "/api/v1", mediaJSON, "", []byte(`{"type":"GET_STATE"}`))
	f.Fuzz(func(t *testing.T, method, path, contentType, messageType string, body []byte) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		if messageType != "" {
			h.Set("Message-Content-Type", messageType)
		}
		for _, m := range []Member{AnyMember, Master, Agent} {
			op, rest := Classifier{BodyLimit: 256}.Classify(context.Background(), Request{
				Method: method, Path: path, Header: h, Member: m,
				Body: io.NopCloser(bytes.NewReader(body)),
			})
			got, err := io.ReadAll(rest)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("replayed %q, %v; want %q", got, err, body)
			}
			safe := method == "GET" || method == "HEAD" || method == "OPTIONS"
			if op.Read && !safe && (op.Call == "" || method != "POST") {
				t.Fatalf("%s %s classified as a read: %+v", method, path, op)
			}
			if !op.Read && op.Reason == "" {
				t.Fatalf("a write without a reason: %+v", op)
			}
		}
	})
}
