// Package access decides who may do what through the gateway.
//
// A Mesos cluster trusts whoever reaches its masters and agents; the
// gateway is the cluster's front door, so it must tell reads from writes
// and readers from operators before it proxies a request. This package
// holds that decision and nothing of routing or proxying:
//
//   - Classifier.Classify tells a read from a write (a state-changing
//     method, a libprocess read-write endpoint, a v1 operator call that
//     changes the cluster), reading at most a bounded prefix of an operator
//     call's body and replaying it unchanged.
//   - Identity, Role and Grants say who a client is and which role the
//     --viewers and --operators lists give it.
//   - Access ties them together: New checks the settings (and contacts the
//     OpenID Provider), Decide answers one request, and its Login, Callback
//     and Logout handlers run the OpenID Connect login that sets the
//     gateway's session cookie.
//
// The package imports no other package of the project; the server wires
// it in front of the routes to masters and agents.
package access
