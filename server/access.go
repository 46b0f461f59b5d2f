package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is access control: before a request is resolved, the gateway
// asks who the client is and whether its role allows what the request
// does (access.Access.Decide). The gateway's own pages and every read
// need the viewer role, writes the operator role and the gateway's own
// origin; /gateway/healthz and /gateway/readyz are open to load
// balancers, and the sign-in pages to everyone. Every write, allowed or
// refused, is one audit line and a count in the metrics.

// authorize decides whether r may do op. It answers a refusal itself (a
// redirect to sign in, or a problem page naming the role and the setting
// that grants it) and then returns false.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request, op access.Operation) bool {
	d := g.access.Decide(w, r, op)
	q := requestOf(r)
	q.who, q.role = d.Identity, d.Role
	if !op.Read {
		q.write = &op
	}
	g.metrics.decided(op.Read, d.Allowed)
	switch {
	case d.Allowed:
		return true
	case d.Login != "":
		http.Redirect(w, r, d.Login, http.StatusFound)
		return false
	}
	q.refused = true
	if d.Err != nil {
		g.log.Info("credential refused", "request_id", q.id, "err", d.Err)
	}
	if d.Challenge != "" {
		w.Header().Set("WWW-Authenticate", d.Challenge)
	}
	g.pages.WriteProblem(w, r, web.AccessRefused(d.Status, d.Reason, d.Need.String(), d.Setting))
	return false
}

// requireViewer guards the gateway's own pages: reading them needs the
// viewer role.
func (g *Gateway) requireViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.isolate(w, r, upstream.Route{}, true) && g.authorize(w, r, access.Operation{Read: true}) {
			next.ServeHTTP(w, r)
		}
	})
}

// operation says what a request on route does. Requests to masters and
// agents are classified by access (a v1 operator call by its type, read
// from a bounded head of the body that the member still receives whole);
// a framework UI's by its method alone, since its API is its own.
func (g *Gateway) operation(r *http.Request, route upstream.Route) access.Operation {
	var member access.Member
	switch route.Kind {
	case upstream.KindFrameworkName, upstream.KindFrameworkID:
		if safeMethod(r.Method) {
			return access.Operation{Read: true}
		}
		return access.Operation{Reason: "the method " + r.Method + " may change the framework"}
	case upstream.KindAgent:
		member = access.Agent
	default:
		member = access.Master
	}
	op, body := access.Classifier{}.Classify(r.Context(), access.Request{
		Method: r.Method, Path: route.Tail, Header: r.Header, Body: r.Body, Member: member,
	})
	if body != nil {
		r.Body = body
	}
	return op
}

// safeMethod reports a method that changes nothing (RFC 9110 9.2.1).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// audit writes the audit line of a write, allowed or refused, once its
// status is known.
func (g *Gateway) audit(r *http.Request, q *request, status int) {
	if q.write == nil {
		return
	}
	msg, level := "write allowed", slog.LevelInfo
	if q.refused {
		msg, level = "write refused", slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("request_id", q.id),
		slog.String("identity", q.who.String()),
		slog.String("role", q.role.String()),
		slog.String("method", r.Method),
		slog.String("route", q.class.String()),
		slog.String("target", q.target),
		slog.Int("status", status),
	}
	if q.write.Call != "" {
		attrs = append(attrs, slog.String("call", q.write.Call))
	}
	if q.ex != nil {
		attrs = append(attrs, slog.String("member", refString(refOf(q.ex.dest))))
	}
	if q.write.Reason != "" {
		attrs = append(attrs, slog.String("why", q.write.Reason))
	}
	g.log.LogAttrs(context.WithoutCancel(r.Context()), level, msg, attrs...)
}

// providerWait bounds the wait at start for the OpenID Provider's
// discovery document: a provider that accepts connections and never
// answers (a stuck proxy in front of it) must stop the start with an
// error, not hold it until the gateway is killed.
const providerWait = 10 * time.Second

// newAccess provisions access control from the settings: the OpenID
// Provider is contacted here, within providerWait, so a gateway that
// cannot reach it stops at start, before anything is written.
// Without --session-key-file, the key sealing sessions is kept in storage,
// where every gateway sharing it finds the same.
func newAccess(ctx context.Context, g *config.Gateway, storage certmagic.Storage, pages func() *web.Pages, log *slog.Logger) (*access.Access, error) {
	gatewayOrigin := g.PublicOrigin()
	cfg := access.Config{
		Viewers:            g.Viewers,
		Operators:          g.Operators,
		AllowWrites:        g.AllowWrites,
		ClientCertificates: g.CertificateIdentities(),
		SessionKeyFiles:    g.SessionKeyFiles,
		SessionSecret:      sessionSecret(storage, log),
		Origin: func(r *http.Request) string {
			return origin(r, trusts(g.TrustedProxies, r.RemoteAddr))
		},
		ServiceDomain: g.ServiceDomain,
		GatewayOrigin: gatewayOrigin,
		Logger:        log,
		Problem: func(w http.ResponseWriter, r *http.Request, status int, message string) {
			pages().WriteProblem(w, r, web.SignInFailed(status, message))
		},
	}
	if g.OIDCIssuer != "" {
		secret, err := readSecret(g.OIDCClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.Name("oidc-client-secret-file"), err)
		}
		cfg.OIDC = access.OIDC{
			Issuer: g.OIDCIssuer, ClientID: g.OIDCClientID, ClientSecret: secret,
			RedirectURL: g.OIDCRedirect(access.DefaultCallbackPath), Scopes: g.OIDCScopes,
			GroupsClaim: g.OIDCGroupsClaim, Audience: g.OIDCAudience, EndSession: g.OIDCEndSession,
		}
	}
	wait, cancel := context.WithTimeout(ctx, providerWait)
	defer cancel()
	a, err := access.New(wait, cfg)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (no answer within %s)", err, providerWait)
	}
	return a, err
}

// readSecret reads a secret's file: its first line, trimmed; "" for no
// file.
func readSecret(path string) (access.Secret, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("%s is empty: put the client secret on its first line", path)
	}
	return access.Secret(line), nil
}

// sessionKeyName is the session key's name in the storage.
const sessionKeyName = "mesosgate/session.key"

// sessionSecret returns the function that reads the session key from
// storage, or makes it when there is none yet: 32 random bytes, made once
// under the storage's lock, so gateways sharing the storage (a data
// directory, ZooKeeper) accept each other's sessions.
func sessionSecret(storage certmagic.Storage, log *slog.Logger) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		if b, err := storage.Load(ctx, sessionKeyName); !errors.Is(err, fs.ErrNotExist) {
			return b, err
		}
		if err := storage.Lock(ctx, sessionKeyName); err != nil {
			return nil, fmt.Errorf("lock %s in %s: %w", sessionKeyName, storage, err)
		}
		defer storage.Unlock(context.WithoutCancel(ctx), sessionKeyName)
		if b, err := storage.Load(ctx, sessionKeyName); !errors.Is(err, fs.ErrNotExist) {
			return b, err // another gateway made it meanwhile
		}
		key := make([]byte, access.MinKeySize)
		rand.Read(key)
		if err := storage.Store(ctx, sessionKeyName, key); err != nil {
			return nil, fmt.Errorf("store %s in %s: %w", sessionKeyName, storage, err)
		}
		log.Info("made the key sealing sign-in sessions; gateways sharing this storage use it too", "storage", fmt.Sprint(storage), "key", sessionKeyName)
		return key, nil
	}
}
