// Package config turns mesosgate's command line and environment into the
// settings structs of its commands, validates everything at once, and says
// where every value came from.
//
// Sources, in order of precedence: flags (--listen), MESOSGATE_*
// variables (MESOSGATE_LISTEN), for the SSL settings the libprocess
// variables (LIBPROCESS_SSL_* then SSL_*, read by readEnv), then
// defaults. Every SSL variable of libprocess has a flag --ssl-<name> and a
// variable MESOSGATE_SSL_<NAME> that override the libprocess value for the
// gateway alone, so it can differ from the cluster it shares an
// environment with.
//
// config only reads and checks: it opens no listener and loads no key. A
// problem is reported as one line naming the setting the way the user
// wrote it (the flag or the variable) and what to do; all problems are
// returned together (errors.Join).
package config

import (
	"fmt"
	"strings"
)

// Origin is the kind of place a setting's value came from.
type Origin int8

// The places a value comes from, lowest precedence first.
const (
	FromDefault Origin = iota
	FromEnv
	FromFlag
)

// Source says where a setting's value came from.
type Source struct {
	Kind Origin
	// Name is the flag ("--listen") or the environment variable
	// ("MESOSGATE_LISTEN", "LIBPROCESS_SSL_CERT_FILE") that supplied the
	// value; empty for a default.
	Name string
	// Note explains a value that is not obvious: the gateway's own
	// defaults that differ from libprocess's, what "auto" chose.
	Note string
}

// String returns "flag --listen", "env MESOSGATE_LISTEN" or "default",
// followed by the note in parentheses when there is one.
func (s Source) String() string {
	var str string
	switch s.Kind {
	case FromFlag:
		str = "flag " + s.Name
	case FromEnv:
		str = "env " + s.Name
	default:
		str = "default"
	}
	if s.Note != "" {
		str += " (" + s.Note + ")"
	}
	return str
}

// Origins records, for a command's loaded settings, where each came from
// and what deserves a warning. Every command's struct embeds it.
type Origins struct {
	// Sources maps a setting's flag name without dashes ("listen",
	// "ssl-cert-file") to where its value came from.
	Sources map[string]Source
	// Warnings are problems that do not stop the command, one line each,
	// naming the settings concerned. Commands log them at start.
	Warnings []string

	entries []entry // for Print, in the order of the help text
}

// entry is one printed line of `mesosgate config`.
type entry struct {
	flag, value string
	src         Source
}

// Name returns how the user named a setting, given its flag name: the flag
// or variable that set it, or "--flag" when it has its default. Errors
// found after loading (a key that does not match its certificate) name
// the setting with it.
func (o Origins) Name(flag string) string {
	if src, ok := o.Sources[flag]; ok && src.Name != "" {
		return src.Name
	}
	return "--" + flag
}

// SSLName returns how the user named a libprocess SSL setting, given its
// name after the prefix ("KEY_FILE"): --ssl-key-file, MESOSGATE_SSL_KEY_FILE,
// LIBPROCESS_SSL_KEY_FILE or SSL_KEY_FILE, whichever supplied it, and
// LIBPROCESS_SSL_KEY_FILE when none did. It fits tlsx.Options.Name.
func (o Origins) SSLName(suffix string) string {
	if src, ok := o.Sources[sslFlag(suffix)]; ok && src.Name != "" {
		return src.Name
	}
	return tlsxPrefix + suffix
}

// HelpError is returned by the loaders when the command line asks for
// help (-h, --help). Flags lists the command's flags with their variables
// and defaults, ready to print.
type HelpError struct {
	Command string
	Flags   string
}

func (e *HelpError) Error() string { return fmt.Sprintf("help requested for mesosgate %s", e.Command) }

// environ is the process environment, as os.Environ returns it. The first
// entry of a name wins, as with os.Getenv.
type environ map[string]string

// parseEnviron reads "NAME=value" entries.
func parseEnviron(entries []string) environ {
	env := environ{}
	for _, kv := range entries {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, dup := env[name]; !dup {
			env[name] = value
		}
	}
	return env
}

func (e environ) has(name string) bool   { _, ok := e[name]; return ok }
func (e environ) get(name string) string { return e[name] }

// lookup fits readEnv and os.LookupEnv's shape.
func (e environ) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}
