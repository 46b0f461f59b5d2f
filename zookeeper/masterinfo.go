package zookeeper

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Master is one master of the group: what its znode says about it.
type Master struct {
	// ID is MasterInfo.id, a UUID (or pid-UUID for old masters).
	ID string
	// Hostname is address.hostname, else hostname: the name its
	// certificate is validated against. It may be empty.
	Hostname string
	// IP is address.ip, else the deprecated ip field (a uint32 in network
	// byte order), else the pid's IP. The zero Addr means none was given.
	IP netip.Addr
	// Port is address.port, else port, else the pid's port.
	Port int
	// PID is the libprocess pid, "master@10.0.0.1:5050".
	PID string
	// Version is the Mesos version the master runs ("1.11.0"); empty
	// before Mesos 0.23.
	Version string
	// Sequence is the znode's sequence number: the lowest leads.
	Sequence int32
	// Label is the znode's label: LabelJSON, LabelProtobuf, or "" for a
	// pre-0.23 master that wrote its bare pid.
	Label string
}

// The labels of the masters' znodes (Mesos master/constants.hpp).
const (
	// LabelJSON names MasterInfo as JSON, written by Mesos 0.24 and later.
	LabelJSON = "json.info"
	// LabelProtobuf names MasterInfo as a serialized protobuf, written by
	// Mesos 0.23 (read by Mesos up to 1.x).
	LabelProtobuf = "info"
)

// Addr returns the host:port to connect to: the IP Mesos connects to
// (address.ip, ip, the pid's), or the hostname when no IP is known.
func (m Master) Addr() string {
	host := m.Hostname
	if m.IP.IsValid() {
		host = m.IP.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(m.Port))
}

// HostPort returns hostname:port, the form the stock WebUI builds links
// from, or Addr when the master gave no hostname.
func (m Master) HostPort() string {
	if m.Hostname == "" {
		return m.Addr()
	}
	return net.JoinHostPort(m.Hostname, strconv.Itoa(m.Port))
}

// decodeMaster decodes a znode's data by its label.
func decodeMaster(label string, data []byte) (Master, error) {
	switch label {
	case LabelJSON:
		return decodeJSON(data)
	case LabelProtobuf:
		return decodeProtobuf(data)
	case "":
		return decodePID(string(data))
	}
	return Master{}, fmt.Errorf("unknown label %q", label)
}

// jsonInfo is MasterInfo as Mesos writes it with JSON::protobuf
// (master/contender/zookeeper.cpp). Pointers tell a missing field from a
// zero one: id, ip and port are proto2 "required", and stout's JSON to
// protobuf conversion refuses a MasterInfo without them.
type jsonInfo struct {
	ID       *string      `json:"id"`
	IP       *uint32      `json:"ip"`
	Port     *uint32      `json:"port"`
	PID      string       `json:"pid"`
	Hostname string       `json:"hostname"`
	Version  string       `json:"version"`
	Address  *jsonAddress `json:"address"`
}

// jsonAddress is the Address message (Mesos 0.24 and later).
type jsonAddress struct {
	Hostname string `json:"hostname"`
	IP       string `json:"ip"`
	Port     *int32 `json:"port"`
}

// decodeJSON decodes a json.info_ znode.
func decodeJSON(data []byte) (Master, error) {
	var in jsonInfo
	if err := json.Unmarshal(data, &in); err != nil {
		return Master{}, fmt.Errorf("not MasterInfo JSON: %w", err)
	}
	if in.ID == nil || in.IP == nil || in.Port == nil {
		return Master{}, errors.New("MasterInfo JSON lacks a required field (id, ip, port)")
	}
	info := info{id: *in.ID, ip: *in.IP, port: uint64(*in.Port), pid: in.PID, hostname: in.Hostname, version: in.Version}
	if a := in.Address; a != nil {
		if a.Port == nil {
			return Master{}, errors.New("MasterInfo JSON's address lacks its port")
		}
		info.address = &address{hostname: a.Hostname, ip: a.IP, port: int64(*a.Port)}
	}
	return info.master()
}

// info holds MasterInfo's fields whichever encoding they came in.
type info struct {
	id, pid, hostname, version string
	ip                         uint32
	port                       uint64
	address                    *address
}

// address is the Address message.
type address struct {
	hostname, ip string
	port         int64
}

// master applies Mesos's precedence: address over the deprecated ip,
// port and hostname fields, and the pid when they say nothing.
func (in info) master() (Master, error) {
	m := Master{ID: in.id, PID: in.pid, Version: in.version, Hostname: in.hostname}
	pidIP, pidPort, _ := splitPID(in.pid)
	port := int64(in.port)
	if in.ip != 0 {
		m.IP = networkOrderIP(in.ip)
	}
	if a := in.address; a != nil {
		port = a.port
		if a.hostname != "" {
			m.Hostname = a.hostname
		}
		if ip, err := netip.ParseAddr(a.ip); err == nil {
			m.IP = ip.Unmap()
		}
	}
	if !m.IP.IsValid() {
		m.IP = pidIP
	}
	if port == 0 {
		port = int64(pidPort)
	}
	if port < 1 || port > 65535 {
		return Master{}, fmt.Errorf("MasterInfo gives port %d, not 1 to 65535", port)
	}
	m.Port = int(port)
	if !m.IP.IsValid() && m.Hostname == "" {
		return Master{}, errors.New("MasterInfo gives neither an IP nor a hostname")
	}
	return m, nil
}

// networkOrderIP turns MasterInfo.ip into an address. Mesos stores
// in_addr.s_addr, the address's bytes in network order read as a
// host-order integer (master.cpp, MESOS-1201), so on the little-endian
// machines Mesos runs on the first octet is the lowest byte.
func networkOrderIP(v uint32) netip.Addr {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// NetworkOrderIP is the inverse of the decoding of MasterInfo.ip: the
// uint32 a Mesos master on a little-endian machine writes for an IPv4
// address. Simulated masters use it to write their MasterInfo.
func NetworkOrderIP(ip netip.Addr) uint32 {
	b := ip.Unmap().As4()
	return binary.LittleEndian.Uint32(b[:])
}

// splitPID splits a libprocess pid, "name@ip:port".
func splitPID(pid string) (netip.Addr, int, bool) {
	_, hostport, ok := strings.Cut(pid, "@")
	if !ok {
		return netip.Addr{}, 0, false
	}
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	return ap.Addr().Unmap(), int(ap.Port()), true
}

// decodePID decodes a znode without a label: masters before Mesos 0.23
// wrote their bare pid, and Mesos's detector still reads it
// (master/detector/zookeeper.cpp, "data in old format").
func decodePID(s string) (Master, error) {
	s = strings.TrimSpace(s)
	ip, port, ok := splitPID(s)
	if !ok || port == 0 {
		return Master{}, fmt.Errorf("not a libprocess pid (master@ip:port): %q", truncate(s))
	}
	return Master{ID: s, PID: s, IP: ip, Port: port}, nil
}

// truncate shortens garbage quoted in an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// The MasterInfo and Address field numbers (include/mesos/mesos.proto).
const (
	fieldID       = 1
	fieldIP       = 2
	fieldPort     = 3
	fieldPID      = 4
	fieldHostname = 5
	fieldVersion  = 6
	fieldAddress  = 7

	addressHostname = 1
	addressIP       = 2
	addressPort     = 3
)

// decodeProtobuf decodes an info_ znode: MasterInfo serialized by Mesos
// 0.23 (master/contender.cpp, SerializeToString). Unknown fields are
// skipped, as protobuf does; a missing required field (id, ip, port) fails
// as ParseFromString does.
func decodeProtobuf(data []byte) (Master, error) {
	var in info
	var seen [fieldAddress + 1]bool
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		if num <= fieldAddress {
			seen[num] = true
		}
		return in.setField(num, typ, v, n)
	})
	if err != nil {
		return Master{}, fmt.Errorf("not a MasterInfo protobuf: %w", err)
	}
	if !seen[fieldID] || !seen[fieldIP] || !seen[fieldPort] {
		return Master{}, errors.New("not a MasterInfo protobuf: a required field (id, ip, port) is missing")
	}
	return in.master()
}

// setField stores one MasterInfo field.
func (in *info) setField(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
	switch {
	case num == fieldID && typ == protowire.BytesType:
		in.id = string(v)
	case num == fieldIP && typ == protowire.VarintType:
		in.ip = uint32(n)
	case num == fieldPort && typ == protowire.VarintType:
		in.port = uint64(uint32(n))
	case num == fieldPID && typ == protowire.BytesType:
		in.pid = string(v)
	case num == fieldHostname && typ == protowire.BytesType:
		in.hostname = string(v)
	case num == fieldVersion && typ == protowire.BytesType:
		in.version = string(v)
	case num == fieldAddress && typ == protowire.BytesType:
		a, err := decodeAddress(v)
		if err != nil {
			return err
		}
		in.address = a
	case num >= fieldID && num <= fieldAddress:
		return fmt.Errorf("field %d has wire type %d", num, typ)
	}
	return nil
}

// decodeAddress decodes an embedded Address message.
func decodeAddress(data []byte) (*address, error) {
	a := &address{}
	seenPort := false
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == addressHostname && typ == protowire.BytesType:
			a.hostname = string(v)
		case num == addressIP && typ == protowire.BytesType:
			a.ip = string(v)
		case num == addressPort && typ == protowire.VarintType:
			a.port, seenPort = int64(int32(n)), true
		case num >= addressHostname && num <= addressPort:
			return fmt.Errorf("address field %d has wire type %d", num, typ)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !seenPort {
		return nil, errors.New("address lacks its required port")
	}
	return a, nil
}

// eachField walks a message's fields, giving each field's bytes (for the
// bytes wire type) or number (varint, fixed32, fixed64). Groups are
// skipped whole.
func eachField(data []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(data) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(data)
		if tagLen < 0 {
			return protowire.ParseError(tagLen)
		}
		valLen := protowire.ConsumeFieldValue(num, typ, data[tagLen:])
		if valLen < 0 {
			return protowire.ParseError(valLen)
		}
		val := data[tagLen : tagLen+valLen]
		data = data[tagLen+valLen:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, _ = protowire.ConsumeVarint(val)
		case protowire.Fixed32Type:
			x, _ := protowire.ConsumeFixed32(val)
			n = uint64(x)
		case protowire.Fixed64Type:
			n, _ = protowire.ConsumeFixed64(val)
		case protowire.BytesType:
			v, _ = protowire.ConsumeBytes(val)
		}
		if err := f(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// EncodeMasterInfo returns the znode data a Mesos master writes for m
// under label: LabelJSON as Mesos 0.24 and later write it (JSON::protobuf
// of MasterInfo: id, ip in network order, port, pid, hostname, version and
// address), LabelProtobuf as Mesos 0.23 serializes it (the same fields
// but address, which came in 0.24), and "" the bare pid of older masters.
// The simulated cluster and tests register masters with it.
func EncodeMasterInfo(label string, m Master) ([]byte, error) {
	if !m.IP.Unmap().Is4() {
		return nil, fmt.Errorf("encode MasterInfo: ip %v is not IPv4 (MasterInfo.ip holds IPv4 only)", m.IP)
	}
	switch label {
	case LabelJSON:
		return encodeJSON(m)
	case LabelProtobuf:
		return encodeProtobuf(m), nil
	case "":
		return []byte(m.PID), nil
	}
	return nil, fmt.Errorf("encode MasterInfo: unknown label %q (use %q or %q)", label, LabelJSON, LabelProtobuf)
}

func encodeJSON(m Master) ([]byte, error) {
	ip, port := NetworkOrderIP(m.IP), uint32(m.Port)
	port32 := int32(m.Port)
	return json.Marshal(jsonInfo{
		ID: &m.ID, IP: &ip, Port: &port, PID: m.PID, Hostname: m.Hostname, Version: m.Version,
		Address: &jsonAddress{Hostname: m.Hostname, IP: m.IP.Unmap().String(), Port: &port32},
	})
}

func encodeProtobuf(m Master) []byte {
	var b []byte
	str := func(num protowire.Number, s string) {
		if s != "" {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	b = protowire.AppendTag(b, fieldID, protowire.BytesType)
	b = protowire.AppendString(b, m.ID)
	b = protowire.AppendTag(b, fieldIP, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(NetworkOrderIP(m.IP)))
	b = protowire.AppendTag(b, fieldPort, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.Port))
	str(fieldPID, m.PID)
	str(fieldHostname, m.Hostname)
	str(fieldVersion, m.Version)
	return b
}
