package upstream

import (
	"errors"
	"fmt"
)

// Errors a caller branches on (errors.Is). Each is returned wrapped in a
// message that names what was asked and what to do.
var (
	// ErrNotReady: Target was called before the first discovery finished;
	// call Wait first.
	ErrNotReady = errors.New("the cluster has not been discovered yet")
	// ErrUnknown: no such agent, framework or master in the cluster map.
	// The gateway answers 404: it never proxies to what discovery did not
	// find.
	ErrUnknown = errors.New("not in the cluster map")
	// ErrNoWebUI: the framework exists but registered no webui_url.
	ErrNoWebUI = errors.New("the framework registered no web UI")
	// ErrNoLeader: no master leads (every master answered "No leader
	// elected"), or none has been found.
	ErrNoLeader = errors.New("no leading master")
	// ErrStale: the cluster map is older than the hard staleness limit:
	// the masters have not answered for that long.
	ErrStale = errors.New("the cluster map is too old")
	// ErrTLSRequired: the member speaks only plain HTTP and --upstream-tls
	// is required.
	ErrTLSRequired = errors.New("the member speaks plain HTTP only and --upstream-tls=required refuses it")
)

// UnreachableError is returned by a member's RoundTripper when the member
// cannot be reached: its latest probe found it unreachable, or its
// certificate does not verify while verification is on. Reason is the
// probe's ("connection refused", "timeout after 5s", "TLS handshake
// failed: the member requires a client certificate ...").
type UnreachableError struct {
	Role    Role
	Address string
	Reason  string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s %s is unreachable: %s", e.Role, e.Address, e.Reason)
}
