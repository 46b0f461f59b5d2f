package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Credential is a principal and its secret for HTTP basic authentication
// with masters that demand it (--authenticate_http_readonly and
// --authenticate_http_readwrite). String, GoString and LogValue hide the
// secret, so printing or logging a Credential never shows it.
type Credential struct {
	Principal string
	Secret    string
}

// String names the principal and hides the secret.
func (c Credential) String() string {
	if c.Principal == "" {
		return "(none)"
	}
	return c.Principal + " (secret hidden)"
}

// GoString hides the secret from %#v too.
func (c Credential) GoString() string {
	return fmt.Sprintf("config.Credential{Principal: %q, Secret: (hidden)}", c.Principal)
}

// LogValue hides the secret from slog.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ReadCredential reads a Mesos credential file (see ParseCredential) and
// warns, as Mesos does, when the file is readable by others.
func ReadCredential(path string) (Credential, []string, error) {
	if err := readableFile(path); err != nil {
		return Credential{}, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Credential{}, nil, describe(err)
	}
	c, err := ParseCredential(data)
	if err != nil {
		return Credential{}, nil, err
	}
	var warnings []string
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o007 != 0 {
		warnings = append(warnings, fmt.Sprintf("%s is accessible by others (mode %04o): it holds a secret; chmod o-rwx it", path, fi.Mode().Perm()))
	}
	return c, warnings, nil
}

// ParseCredential reads the JSON of a Mesos credential file in either of
// its two shapes: one Credential, {"principal": "...", "secret": "..."}
// (what an agent's --credential names), or Credentials with exactly one
// entry, {"credentials": [{"principal": "...", "secret": "..."}]} (a
// master's --credentials). Errors never quote the file's contents.
func ParseCredential(data []byte) (Credential, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Credential{}, errors.New(`is empty; write {"principal": "...", "secret": "..."} into it`)
	}
	type entry struct {
		Principal *string `json:"principal"`
		Secret    *string `json:"secret"`
	}
	var file struct {
		entry
		Credentials *[]entry `json:"credentials"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return Credential{}, fmt.Errorf(`is not valid JSON (error at byte %d); write {"principal": "...", "secret": "..."}`, syntax.Offset)
		}
		return Credential{}, errors.New(`is not a Mesos credential file: "principal" and "secret" must be strings; write {"principal": "...", "secret": "..."}`)
	}
	e := file.entry
	switch {
	case file.Credentials != nil && e.Principal != nil:
		return Credential{}, errors.New(`holds both "credentials" and "principal": keep one of the two shapes`)
	case file.Credentials != nil && len(*file.Credentials) != 1:
		return Credential{}, fmt.Errorf(`holds %d credentials: the gateway authenticates with one; keep the one for the gateway`, len(*file.Credentials))
	case file.Credentials != nil:
		e = (*file.Credentials)[0]
	}
	if e.Principal == nil || *e.Principal == "" {
		return Credential{}, errors.New(`has no "principal": write {"principal": "...", "secret": "..."}`)
	}
	if strings.ContainsAny(*e.Principal, ":\r\n") {
		return Credential{}, errors.New(`has a "principal" with a colon or a line break, which HTTP basic authentication cannot carry`)
	}
	c := Credential{Principal: *e.Principal}
	if e.Secret != nil {
		c.Secret = *e.Secret
	}
	return c, nil
}

// defineCredentials registers --master-credentials.
func defineCredentials(s *set, path *string) {
	s.add(&setting{flag: "master-credentials", placeholder: "FILE",
		usage: `Mesos credential file ({"principal": "...", "secret": "..."}) for masters that require HTTP authentication; the secret is never printed`,
		parse: pathParser(path), show: func() string { return orNone(*path) }})
}

// readCredentials reads the --master-credentials file once every setting
// has its value, failing with the setting's name and returning Mesos's
// warning about open permissions.
func readCredentials(s *set, path string, c *Credential) []string {
	if path == "" || !s.ok("master-credentials") {
		return nil
	}
	cred, warnings, err := ReadCredential(path)
	if err != nil {
		s.fail("%s=%s: %v", s.name("master-credentials"), quote(path), err)
		return nil
	}
	*c = cred
	return warnings
}
