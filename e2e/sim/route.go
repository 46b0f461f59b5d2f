package sim

import (
	"net/http"
	"strings"
)

// This file holds how a libprocess process routes a request path to an
// endpoint, which masters and agents share.

// masterProcesses are the libprocess processes a master serves; a path
// whose first segment names none of them is delegated to "master".
var masterProcesses = map[string]bool{"master": true, "files": true, "metrics": true, "version": true}

// agentProcesses are an agent's; the agent delegates to "slave(1)".
var agentProcesses = map[string]bool{"slave(1)": true, "files": true, "metrics": true, "version": true}

// delegate prefixes a path whose first segment names no process with the
// delegate's name (libprocess ProcessManager::handle).
func delegate(p string, processes map[string]bool, name string) string {
	first, _, _ := strings.Cut(strings.TrimLeft(p, "/"), "/")
	switch {
	case first == "":
		return "/" + name
	case processes[first]:
		return p
	}
	return "/" + name + p
}

// under reports whether a request path falls to the endpoint route the way
// libprocess matches (the longest route that is a prefix of the path, a
// trailing slash ignored).
func under(p, route string) bool {
	return p == route || strings.HasPrefix(p, route+"/")
}

// withPath returns a shallow copy of r for another path.
func withPath(r *http.Request, p string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}
