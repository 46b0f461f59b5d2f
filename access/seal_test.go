package access

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadKeyFiles: a key written as text loses the newline that ends it;
// random bytes are kept whole, also when their last byte reads as
// whitespace (head -c 32 /dev/urandom makes such a key now and then).
func TestReadKeyFiles(t *testing.T) {
	binary := append(bytes.Repeat([]byte{0x8f}, 31), '\n')
	text := "q3Jd8Zr0m2cQwX5yT1uV9sKfL7hN4pB6aE0iO2gH8jY=\n"
	for _, tt := range []struct {
		name    string
		content []byte
		want    int // key length; 0: refused
	}{
		{"random bytes ending in a newline byte", binary, 32},
		{"random bytes ending in a space", append(bytes.Repeat([]byte{0xc3}, 31), ' '), 32},
		{"base64 with a newline", []byte(text), len(text) - 1},
		{"base64 with CRLF", []byte(strings.TrimSuffix(text, "\n") + "\r\n"), len(text) - 1},
		{"short random bytes", bytes.Repeat([]byte{0x9a}, 16), 0},
		{"short text padded with newlines", []byte("short\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(f, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := readKeyFiles("--session-key-file", []string{f})
			switch {
			case tt.want == 0 && err == nil:
				t.Errorf("accepted a key of %d bytes", len(keys[0]))
			case tt.want != 0 && (err != nil || len(keys[0]) != tt.want):
				t.Errorf("keys %d, err %v; want one of %d bytes", len(keys), err, tt.want)
			}
		})
	}
}
