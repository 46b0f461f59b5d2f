package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// load is every command's loader: define registers the command's settings
// (returning warnings found while doing so), the command line and the
// environment give them values, validate applies the rules that involve
// several settings (returning warnings). checkEnv adds warnings about
// unknown MESOSGATE_ and LIBPROCESS_SSL_ variables.
//
// Problems are returned together, one line each, followed by the warnings
// as lines starting "warning: " (a misspelt variable often explains a
// problem); help requested on the command line is a *HelpError.
func load(command string, args, environment []string, checkEnv bool, define func(*set) []string, validate func(*set) []string) (Origins, error) {
	env := parseEnviron(environment)
	s := newSet(command, env)
	warnings := define(s)
	if err := s.parseArgs(args); err != nil {
		return Origins{}, err
	}
	s.resolve()
	if checkEnv {
		warnings = append(warnings, unknownVariables(env)...)
	}
	if validate != nil {
		warnings = append(warnings, validate(s)...)
	}
	if len(s.errs) > 0 {
		for _, w := range warnings {
			s.errs = append(s.errs, errors.New("warning: "+w))
		}
		return Origins{}, errors.Join(s.errs...)
	}
	return s.origins(warnings), nil
}

// setting is one configurable value of a command: its flag, the
// environment variable that also sets it, its default, how a value is
// parsed into the command's struct, and, once loaded, where the value came
// from. Every command's settings are a list of these, so a flag, its
// variable, its default, its validation and its source are declared once.
type setting struct {
	flag  string // "listen"; the flag is --listen
	env   string // "MESOSGATE_LISTEN"
	usage string
	// def is the default as a user would write it, parsed like any value;
	// "" means none. defNote explains a default that is not obvious
	// ("gateway: HTTPS on the front").
	def     string
	defNote string
	// defHelp describes the default in help when def does not say it
	// ("system roots").
	defHelp string
	// placeholder names the value in help ("host:port", "DIR").
	placeholder string
	// multi settings may be given several times and as comma-separated
	// lists; the values accumulate.
	multi bool
	// split, if set, splits a multi setting's value into items instead
	// of splitList (a zk:// URL holds commas of its own).
	split func(value string) []string
	// boolean settings may be given as a bare --flag.
	boolean bool
	// parse applies one value (one list item for multi settings). Its
	// error says what is wrong and what to use, without naming the
	// setting: the caller names it as the user wrote it.
	parse func(value string) error
	// show formats the effective value for `mesosgate config`.
	show func() string
	// redact, if set, hides the secret parts of a value quoted in an
	// error (a password in a URL).
	redact func(value string) string
	// inherit, if set, reports a value that an earlier layer already put
	// in the struct (LIBPROCESS_SSL_* for the --ssl-* settings), used when
	// neither the flag nor the variable is given.
	inherit func() (Source, bool)
	// inheritHelp names the variables inherit reads, for help.
	inheritHelp string

	given  []string // values from the command line, in order
	src    Source
	failed bool // a value did not parse: rules involving it are skipped
}

// set is the settings of one command being loaded.
type set struct {
	command string
	list    []*setting
	env     environ
	errs    []error
}

func newSet(command string, env environ) *set {
	return &set{command: command, env: env}
}

// add registers a setting; its env name is derived from the flag when not
// given: --ssl-cert-file is MESOSGATE_SSL_CERT_FILE.
func (s *set) add(st *setting) *setting {
	if st.env == "" {
		st.env = envName(st.flag)
	}
	s.list = append(s.list, st)
	return st
}

// envName returns the MESOSGATE_ variable of a flag.
func envName(flag string) string {
	return "MESOSGATE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fail records a problem.
func (s *set) fail(format string, args ...any) {
	s.errs = append(s.errs, fmt.Errorf(format, args...))
}

// flagValue collects a flag's values for the later resolution; Set never
// fails so every problem is found and reported at once.
type flagValue struct{ st *setting }

func (v flagValue) String() string { return "" }
func (v flagValue) Set(value string) error {
	v.st.given = append(v.st.given, value)
	return nil
}
func (v flagValue) IsBoolFlag() bool { return v.st.boolean }

// parseArgs reads the command line. A malformed command line (an unknown
// flag, a flag without its value) stops here: what follows it cannot be
// read reliably.
func (s *set) parseArgs(args []string) error {
	fs := flag.NewFlagSet(s.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, st := range s.list {
		fs.Var(flagValue{st}, st.flag, st.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &HelpError{Command: s.command, Flags: s.help()}
		}
		return s.argError(err)
	}
	if rest := fs.Args(); len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q: mesosgate %s takes only flags (a true/false flag takes its value as --flag=false); run \"mesosgate %s --help\" for the list",
			rest[0], s.command, s.command)
	}
	return nil
}

// argError rewords the flag package's errors as one line saying what to do.
func (s *set) argError(err error) error {
	msg := err.Error()
	hint := fmt.Sprintf("run \"mesosgate %s --help\" for the list", s.command)
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s: mesosgate %s has no such flag; %s", "-"+name, s.command, hint)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("flag %s needs a value: give it as %s=VALUE", "-"+name, "-"+name)
	}
	return fmt.Errorf("reading the command line: %v; %s", err, hint)
}

// resolve gives every setting its value: the flag, else its MESOSGATE_
// variable, else an inherited value, else the default. Bad values are
// recorded, each naming the setting as the user wrote it.
func (s *set) resolve() {
	for _, st := range s.list {
		var values []string
		switch {
		case len(st.given) > 0:
			st.src = Source{Kind: FromFlag, Name: "--" + st.flag}
			values = st.given
			if !st.multi && len(values) > 1 {
				s.fail("--%s is given %d times: give it once", st.flag, len(values))
				st.failed = true
				continue
			}
		case s.env.has(st.env):
			st.src = Source{Kind: FromEnv, Name: st.env}
			values = []string{s.env.get(st.env)}
		case st.inherit != nil:
			if src, ok := st.inherit(); ok {
				st.src = src
				continue
			}
			fallthrough
		default:
			st.src = Source{Kind: FromDefault, Note: st.defNote}
			if st.def == "" {
				continue
			}
			values = []string{st.def}
		}
		s.apply(st, values)
	}
}

// apply parses a setting's values.
func (s *set) apply(st *setting, values []string) {
	name := st.src.Name
	if name == "" {
		name = "default of --" + st.flag // a bug, but say where
	}
	for _, value := range values {
		items := []string{value}
		switch {
		case st.split != nil:
			items = st.split(value)
		case st.multi:
			items = splitList(value)
		}
		for _, item := range items {
			if err := st.parse(item); err != nil {
				shown := item
				if st.redact != nil {
					shown = st.redact(item)
				}
				s.errs = append(s.errs, fmt.Errorf("%s=%s: %w", name, quote(shown), err))
				st.failed = true
			}
		}
	}
}

// splitList splits a comma-separated list, dropping blanks. A comma
// preceded by a backslash belongs to its item ("group:cn=ops\,ou=groups").
func splitList(value string) []string {
	var items []string
	var item strings.Builder
	flush := func() {
		if v := strings.TrimSpace(item.String()); v != "" {
			items = append(items, v)
		}
		item.Reset()
	}
	for i := 0; i < len(value); i++ {
		switch {
		case value[i] == '\\' && i+1 < len(value) && value[i+1] == ',':
			item.WriteByte(',')
			i++
		case value[i] == ',':
			flush()
		default:
			item.WriteByte(value[i])
		}
	}
	flush()
	return items
}

// quote quotes a value for a one-line message, shortening a long one.
func quote(value string) string {
	const max = 200
	if len(value) > max {
		return strconv.Quote(value[:max]) + "..."
	}
	return strconv.Quote(value)
}

// lookup returns the setting with the given flag name.
func (s *set) lookup(flag string) *setting {
	for _, st := range s.list {
		if st.flag == flag {
			return st
		}
	}
	panic("config: no setting --" + flag) // a programming error, caught by tests
}

// name returns how the user named a setting: the flag or variable that set
// it, or the flag when it has its default (the way to change it).
func (s *set) name(flag string) string {
	st := s.lookup(flag)
	if st.src.Name != "" {
		return st.src.Name
	}
	return "--" + st.flag
}

// ok reports whether every one of the settings has a good value, so a
// rule combining them is worth checking (a bad value is reported once,
// not again through every rule it takes part in).
func (s *set) ok(flags ...string) bool {
	for _, flag := range flags {
		if s.lookup(flag).failed {
			return false
		}
	}
	return true
}

// isSet reports whether the user gave a setting (flag or environment),
// rather than it having its default.
func (s *set) isSet(flag string) bool {
	return s.lookup(flag).src.Kind != FromDefault
}

// origins returns what the loaded settings record for later use.
func (s *set) origins(warnings []string) Origins {
	o := Origins{Sources: map[string]Source{}, Warnings: warnings}
	for _, st := range s.list {
		o.Sources[st.flag] = st.src
		o.entries = append(o.entries, entry{flag: st.flag, value: st.show(), src: st.src})
	}
	return o
}

// boolParser parses a flag's true/false value the way libprocess does.
func boolParser(p *bool) func(string) error {
	return func(v string) error {
		b, err := parseBool(v)
		if err == nil {
			*p = b
		}
		return err
	}
}
