package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Print writes every effective setting, its value and where it came from,
// aligned, in the order of the command's help. Nothing secret is among the
// values: the key passphrase is read from its file only when the gateway
// starts, so only the file's path can appear here.
func (o Origins) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, e := range o.entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.flag, printable(e.value), e.src)
	}
	return tw.Flush()
}

// printable quotes an empty value or one holding control characters, so
// one setting stays on one line of the table.
func printable(v string) string {
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return r != ' ' && !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// help lists the command's flags, two lines each: the flag with its value
// and the variables that also set it, in order of precedence; then what it
// does and its default.
func (s *set) help() string {
	var b strings.Builder
	for _, st := range s.list {
		b.WriteString("  --" + st.flag)
		if st.placeholder != "" {
			b.WriteString(" " + st.placeholder)
		}
		b.WriteString("  [" + st.env)
		if st.inheritHelp != "" {
			b.WriteString(", then " + st.inheritHelp)
		}
		b.WriteString("]\n      " + st.usage)
		if def := defaultText(st); def != "" {
			b.WriteString("; default " + def)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// defaultText describes a setting's default for help.
func defaultText(st *setting) string {
	switch {
	case st.defHelp != "":
		return st.defHelp
	case st.defNote != "":
		return st.def + " (" + st.defNote + ")"
	}
	return st.def
}
