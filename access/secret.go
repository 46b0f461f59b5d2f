package access

import (
	"fmt"
	"log/slog"
)

// hidden is what a secret prints as.
const hidden = "[hidden]"

// Secret is a value that must never appear in logs, errors or printed
// settings: the OIDC client secret. It prints as "[hidden]" with every fmt
// verb, in slog and in JSON; Reveal returns the value for the one place
// that sends it (the token endpoint).
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string { return hidden }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return hidden }

// Format hides the value from every fmt verb (%x and %q included).
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, hidden) }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(hidden) }

// MarshalText hides the value from encoding/json and friends.
func (s Secret) MarshalText() ([]byte, error) { return []byte(hidden), nil }
