package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// This file is how upstream says what went wrong: one error type, *Error,
// whose Reason a gateway maps to a status in one place, and the one
// classification of connection failures that probes and requests share.

// Reason is why a request could not reach the cluster, or the cluster
// could not answer it.
type Reason int

// The reasons. The comments say what a gateway answers.
const (
	// ReasonInternal is anything else (500).
	ReasonInternal Reason = iota
	// ReasonNotReady: no discovery has found the cluster yet (503).
	ReasonNotReady
	// ReasonUnknown: no such agent, framework or master in the cluster
	// map; the gateway never proxies to what discovery did not find (404).
	ReasonUnknown
	// ReasonNoWebUI: the framework registered no usable webui_url (404).
	ReasonNoWebUI
	// ReasonNoLeader: no master leads (503).
	ReasonNoLeader
	// ReasonStale: the cluster map is older than the hard staleness limit
	// (503); Error.Age and Error.Limit say by how much.
	ReasonStale
	// ReasonUnreachable: the member's latest probe found it answering
	// neither TLS nor plain HTTP (502); Detail is the probe's reason.
	ReasonUnreachable
	// ReasonRefused: the connection was refused (502).
	ReasonRefused
	// ReasonTimeout: no connection, or no answer, within Error.Timeout
	// (504).
	ReasonTimeout
	// ReasonReset: the connection was reset, or closed without an answer
	// (502).
	ReasonReset
	// ReasonNoRoute: no route to the host, or its name does not resolve
	// (502).
	ReasonNoRoute
	// ReasonNotTLS: the member answered TLS with something else (502).
	ReasonNotTLS
	// ReasonTLSHandshake: the TLS handshake failed (502).
	ReasonTLSHandshake
	// ReasonClientCertRequired: the member demands a client certificate
	// the gateway has not, or refused the one it has (502).
	ReasonClientCertRequired
	// ReasonCertificate: the member's certificate does not verify while
	// verification is on (502).
	ReasonCertificate
	// ReasonTLSRequired: the member speaks plain HTTP only and
	// --upstream-tls=required refuses it (502).
	ReasonTLSRequired
	// ReasonForbidden: the address policy refuses the destination's
	// address (403): a link-local or metadata address, the gateway's
	// own, or a framework UI off the cluster's hosts (policy.go).
	ReasonForbidden
	// ReasonBusy: the member already has as many requests in flight as
	// the gateway allows it, and none ended in time (503).
	ReasonBusy
)

// Error is the error of Resolve, Wait and the Transport.
type Error struct {
	Reason Reason
	// Kind and Key are the route asked for, when the error is about one.
	Kind Kind
	Key  string
	// Role, ID and Address name the member concerned ("" when none);
	// Role is "" for a framework UI, whose ID is then its name.
	Role    Role
	ID      string
	Address string
	// Detail says what happened, in words for people: a probe's reason,
	// what each master answered.
	Detail string
	// Timeout is how long was waited (ReasonTimeout).
	Timeout time.Duration
	// Age and Limit are the cluster map's age and the hard staleness
	// limit (ReasonStale).
	Age, Limit time.Duration
	// Err is the cause, nil when there is none.
	Err error
}

func (e *Error) Error() string {
	what := e.Address
	if e.Role != "" {
		what = strings.TrimSpace(string(e.Role) + " " + e.Address)
	}
	var msg string
	switch e.Reason {
	case ReasonNotReady:
		msg = "the cluster has not been discovered yet"
	case ReasonUnknown:
		msg = fmt.Sprintf("%s %q is not in the cluster map", e.Kind, e.Key)
	case ReasonNoWebUI:
		msg = fmt.Sprintf("framework %q registered no usable web UI", e.Key)
	case ReasonNoLeader:
		msg = "no master leads"
	case ReasonStale:
		msg = fmt.Sprintf("the masters last confirmed the cluster map %s ago, more than the stale hard limit %s", e.Age.Round(time.Second), e.Limit)
	case ReasonForbidden:
		msg = what + " may not be reached"
	case ReasonBusy:
		msg = what + " has too many requests in flight"
	case ReasonTLSRequired:
		msg = what + " speaks plain HTTP only and --upstream-tls=required refuses it; restart it with LIBPROCESS_SSL_ENABLED=true, or run the gateway with --upstream-tls=auto"
	default:
		msg = what + " is unreachable"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil && e.Detail == "" {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of an *Error in err's chain, ReasonInternal
// when there is none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInternal
}

// Words of a TLS attempt that met a member without SSL: a plain answer,
// bytes that are not TLS, or the connection closed at the ClientHello (a
// plain libprocess member's HTTP decoder fails and it closes the socket,
// process.cpp).
const (
	reasonPlainAnswer = "not TLS: the member answered in plain HTTP"
	reasonNotTLS      = "not TLS: the member's first bytes are not a TLS record"
	reasonClosed      = "the member closed the connection"
)

// classify says why a connection, a handshake or an exchange with a
// member failed: the Reason and a few words for people. timeout is the
// bound that applied, named when it expired.
func classify(err error, timeout time.Duration) (Reason, string) {
	var dnsErr *net.DNSError
	var recErr tls.RecordHeaderError
	var cve *tls.CertificateVerificationError
	var alert tls.AlertError
	var refused *refusedAddress
	switch {
	case errors.As(err, &refused):
		return ReasonForbidden, refused.reason
	case errors.As(err, &cve):
		return ReasonCertificate, "its certificate does not verify: " + cve.Err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused, "connection refused"
	case isTimeout(err):
		return ReasonTimeout, fmt.Sprintf("timeout after %s", timeout)
	case errors.As(err, &recErr):
		if bytes.HasPrefix(recErr.RecordHeader[:], []byte("HTTP/")) {
			return ReasonNotTLS, reasonPlainAnswer
		}
		return ReasonNotTLS, reasonNotTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ReasonReset, "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonReset, "connection closed without an HTTP answer"
	case errors.Is(err, errNotHTTP):
		return ReasonReset, "the answer is not HTTP"
	case errors.As(err, &dnsErr):
		return ReasonNoRoute, fmt.Sprintf("cannot resolve %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ReasonNoRoute, "no route to host"
	case errors.As(err, &alert), isRemoteAlert(err):
		return ReasonTLSHandshake, "TLS handshake failed: " + err.Error()
	}
	return ReasonInternal, err.Error()
}

// isTimeout reports a timeout anywhere in err's chain.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isRemoteAlert reports whether the member answered with a TLS alert:
// crypto/tls reports a received alert as a net.OpError whose Op is
// "remote error" (conn.go, readRecordOrCCS).
func isRemoteAlert(err error) bool {
	var alert tls.AlertError
	var oe *net.OpError
	return errors.As(err, &alert) || errors.As(err, &oe) && oe.Op == "remote error"
}

// connectionError wraps a failed exchange with a member or framework UI.
func connectionError(d *Destination, err error, timeout time.Duration) *Error {
	reason, detail := classify(err, timeout)
	e := d.errorf(reason, detail)
	e.Err = err
	if reason == ReasonTimeout {
		e.Timeout = timeout
	}
	return e
}
