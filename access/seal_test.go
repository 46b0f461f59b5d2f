package access

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadKeyFiles: a key written as text loses its line end, a binary key
// is taken whole whatever its last byte (head -c 32 /dev/urandom ends in a
// newline about once in 256), and a key too short says how to make one.
func TestReadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	binary := append(bytes.Repeat([]byte{0x9c}, 31), '\n')
	text := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==\n"
	for _, tt := range []struct {
		name    string
		content []byte
		want    []byte
		err     string
	}{
		{"binary ending in a newline", binary, binary, ""},
		{"binary ending in a space", append(bytes.Repeat([]byte{0x01}, 31), ' '), append(bytes.Repeat([]byte{0x01}, 31), ' '), ""},
		{"base64 text", []byte(text), []byte(strings.TrimSuffix(text, "\n")), ""},
		{"text with CRLF", []byte(strings.TrimSuffix(text, "\n") + "\r\n"), []byte(strings.TrimSuffix(text, "\n")), ""},
		{"short text", []byte("too short\n"), nil, "holds 9 bytes, fewer than the 32 random bytes a session key needs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(f, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := readKeyFiles("--session-key-file", []string{f})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], tt.want) {
				t.Fatalf("keys %q, err %v; want %q", keys, err, tt.want)
			}
		})
	}
}
