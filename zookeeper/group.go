package zookeeper

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Group is the masters' group as read from ZooKeeper at one moment.
type Group struct {
	// Masters are the masters whose znodes were read, sorted by sequence:
	// the first leads (but see Leader). Standbys are masters too. While
	// Err is set, Masters is the last group read, kept so a caller can go
	// on serving it.
	Masters []Master
	// Skipped are the children that name a master but could not be read
	// (garbage data), with the reason, for a dashboard to show.
	Skipped []Skipped
	// Err, if set, says why the group could not be read just now
	// (ZooKeeper unreachable, no such path, not authorized): one line
	// that says what to check.
	Err error
}

// Skipped is a child of the group's znode that was passed over.
type Skipped struct {
	// Node is the child's name ("json.info_0000000003").
	Node string
	// Sequence is its sequence number.
	Sequence int32
	// Reason says why ("not MasterInfo JSON: ...").
	Reason string
}

// Leader returns the leading master: the lowest sequence among the
// masters' children. It reports false when there is none, and when the
// lowest child is one that could not be read: Mesos's detector elects
// that child and then fails to read it, so no master is known to lead.
func (g Group) Leader() (Master, bool) {
	if len(g.Masters) == 0 {
		return Master{}, false
	}
	m := g.Masters[0]
	for _, s := range g.Skipped {
		if s.Sequence < m.Sequence {
			return Master{}, false
		}
	}
	return m, true
}

// Equal reports whether two groups say the same: same masters in the same
// order, same skipped children, same error text.
func (g Group) Equal(h Group) bool {
	return slices.Equal(g.Masters, h.Masters) && slices.Equal(g.Skipped, h.Skipped) && errText(g.Err) == errText(h.Err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// String describes a group in one line for logs: the leader, the
// standbys and what was skipped.
func (g Group) String() string {
	var parts []string
	if g.Err != nil {
		parts = append(parts, "error: "+g.Err.Error())
	}
	_, leads := g.Leader()
	if !leads {
		parts = append(parts, "no leader")
	}
	for i, m := range g.Masters {
		role := "standby"
		if i == 0 && leads {
			role = "leader"
		}
		parts = append(parts, role+" "+m.Addr())
	}
	for _, s := range g.Skipped {
		parts = append(parts, fmt.Sprintf("skipped %s (%s)", s.Node, s.Reason))
	}
	return strings.Join(parts, ", ")
}

// child is a parsed child name: "<label>_<sequence>", or a bare sequence
// for pre-0.23 masters.
type child struct {
	name     string
	label    string
	sequence int32
}

// parseChild parses a child's name as Mesos's Group does (group.cpp,
// GroupProcess::cache): the label is what comes before the first "_", the
// sequence what follows the last. It reports false for children that are
// not the masters' (Mesos's replicated log keeps "log_replicas" here;
// Mesos would elect a child of any other label and then fail on it, where
// a reader of the masters' group ignores it).
func parseChild(name string) (child, bool) {
	parts := strings.Split(name, "_")
	label, seq := "", parts[len(parts)-1]
	if len(parts) > 1 {
		label = parts[0]
	}
	if label != LabelJSON && label != LabelProtobuf && label != "" {
		return child{}, false
	}
	n, err := parseSequence(seq)
	if err != nil {
		return child{}, false
	}
	return child{name: name, label: label, sequence: n}, true
}

// parseSequence parses ZooKeeper's sequence suffix, ten digits ("%010d").
func parseSequence(s string) (int32, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a sequence number")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err
}

// build sorts what was read into a Group.
func build(masters []Master, skipped []Skipped) Group {
	slices.SortFunc(masters, func(a, b Master) int { return int(a.Sequence) - int(b.Sequence) })
	slices.SortFunc(skipped, func(a, b Skipped) int { return int(a.Sequence) - int(b.Sequence) })
	return Group{Masters: masters, Skipped: skipped}
}

// decodeChild decodes a child's data into a Master, or says why not.
func decodeChild(c child, data []byte) (Master, *Skipped) {
	m, err := decodeMaster(c.label, data)
	if err != nil {
		return Master{}, &Skipped{Node: c.name, Sequence: c.sequence, Reason: err.Error()}
	}
	m.Sequence, m.Label = c.sequence, c.label
	return m, nil
}
