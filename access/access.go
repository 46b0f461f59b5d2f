package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Default paths of the sign-in handlers and the default session lifetime.
const (
	DefaultLoginPath       = "/gateway/login"
	DefaultCallbackPath    = "/gateway/callback"
	DefaultLogoutPath      = "/gateway/logout"
	DefaultSessionLifetime = 12 * time.Hour
)

// OIDC are the OpenID Connect settings. The zero value means no sign-in:
// no session cookies and no bearer tokens.
type OIDC struct {
	// Issuer is the OpenID Provider's issuer URL (--oidc-issuer), whose
	// /.well-known/openid-configuration New reads. Empty means no OIDC,
	// and then every other field must be empty too.
	Issuer string
	// ClientID is the gateway's client id at the provider
	// (--oidc-client-id). Required with Issuer.
	ClientID string
	// ClientSecret is the client secret (--oidc-client-secret-file); empty
	// means a public client, protected by PKCE alone.
	ClientSecret Secret
	// RedirectURL is the callback URL registered at the provider
	// (--oidc-redirect-url), e.g. https://gateway.example.com/gateway/callback.
	// Empty means the first of Config.Origins followed by the callback
	// path; one of the two is required.
	RedirectURL string
	// Scopes are requested at sign-in (--oidc-scopes); nil means openid,
	// email and profile. "openid" is always requested. Some providers
	// (Dex, mockoidc) send groups only when a "groups" scope is asked for.
	Scopes []string
	// GroupsClaim is the ID token claim that lists the user's groups
	// (--oidc-groups-claim); empty means "groups".
	GroupsClaim string
	// Audience is the audience a bearer token must name
	// (--oidc-audience); empty means ClientID.
	Audience string
	// EndSession makes logout also end the session at the provider when
	// its discovery document has an end_session_endpoint
	// (--oidc-end-session); false means logout ends the gateway's session
	// only.
	EndSession bool
}

// Config are the access settings. The zero value is a gateway without
// authentication on which everyone is a viewer.
type Config struct {
	// OIDC enables sign-in through an OpenID Provider; zero means none.
	OIDC OIDC
	// SessionKeyFiles are files of at least 32 random bytes
	// (--session-key-file). The first seals new cookies, all open them, so
	// keys rotate by putting a new file first and dropping the old one a
	// session lifetime later; gateways given the same files accept each
	// other's sessions. With OIDC, these or SessionSecret are required.
	SessionKeyFiles []string
	// SessionSecret, used when SessionKeyFiles is empty, returns the
	// secret sealing sessions, kept where every gateway sharing a storage
	// finds the same (the server's certificate storage: the data
	// directory, or ZooKeeper with --storage). New calls it once, after
	// the OpenID Provider answered, so a gateway that cannot start has
	// made no secret.
	SessionSecret func(context.Context) ([]byte, error)
	// Viewers and Operators are the role grants (--viewers, --operators),
	// one entry each, in the syntax Grant documents. Nil names nobody; an
	// operator is a viewer too. They need authentication (OIDC or
	// ClientCertificates).
	Viewers, Operators []string
	// ClientCertificates identifies clients by the certificate the front's
	// TLS verified (--client-ca), for cn:, dns: and email
	// entries. False means certificates identify nobody.
	ClientCertificates bool
	// AllowWrites makes everyone an operator on a gateway without
	// authentication (--allow-writes). False keeps such a gateway
	// read-only. With authentication it is an error: name the operators.
	AllowWrites bool
	// Origins are the gateway's origins as browsers name them
	// (https://gateway.example.com): writes from browsers must come from
	// one of them. Nil means the request's own Host.
	Origins []string
	// ServiceDomain is the domain framework UIs' own origins are under
	// (--service-domain); "" means they have none. GatewayOrigin is the
	// gateway's own origin as browsers reach it, where a UI's origin sends
	// a browser to be signed in (hosts.go).
	ServiceDomain string
	GatewayOrigin string
	// Origin, if set, returns the gateway's origin as the browser of r
	// sees it (behind a trusted proxy, as the proxy says), which writes
	// may also come from. Nil adds none.
	Origin func(r *http.Request) string
	// LoginPath, CallbackPath and LogoutPath are where the sign-in
	// handlers answer; empty means DefaultLoginPath, DefaultCallbackPath
	// and DefaultLogoutPath.
	LoginPath, CallbackPath, LogoutPath string
	// SessionLifetime is how long a sign-in lasts, refreshes included;
	// zero means DefaultSessionLifetime.
	SessionLifetime time.Duration
	// HTTPClient talks to the OpenID Provider; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives sign-ins, refusals of credentials and what a session
	// cookie had to leave out; nil means discard.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Problem answers a sign-in request that fails (status and a sentence
	// for the person); nil means a plain-text http.Error.
	Problem func(w http.ResponseWriter, r *http.Request, status int, message string)
}

// Access decides who may do what. It is safe for concurrent use.
type Access struct {
	cfg         Config
	viewers     Grants
	operators   Grants
	namedGroups []string
	log         *slog.Logger
	now         func() time.Time
	client      *http.Client

	// Set with OIDC only.
	provider    *oidc.Provider
	oauth       oauth2.Config
	idTokens    *oidc.IDTokenVerifier
	bearers     *oidc.IDTokenVerifier
	endSession  string
	sessionKeys *keyring
	loginKeys   *keyring
	sessionAD   []byte
	loginAD     []byte
	ticketAD    []byte
}

// New checks cfg, reporting every problem at once (one line each, naming
// the setting), reads the session keys and, with OIDC, reads the
// provider's discovery document, for as long as ctx lasts.
func New(ctx context.Context, cfg Config) (*Access, error) {
	a := &Access{cfg: cfg, log: cfg.Logger, now: cfg.Now, client: cfg.HTTPClient}
	a.setDefaults()
	var errs []error
	if cfg.Viewers != nil {
		gs, err := ParseGrants("--viewers", cfg.Viewers)
		a.viewers, errs = gs, append(errs, err)
	}
	if cfg.Operators != nil {
		gs, err := ParseGrants("--operators", cfg.Operators)
		a.operators, errs = gs, append(errs, err)
	}
	a.namedGroups = append(a.viewers.groups(), a.operators.groups()...)
	errs = append(errs, a.checkCombination()...)
	errs = append(errs, a.checkOIDC()...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if a.cfg.OIDC.Issuer == "" {
		return a, nil
	}
	secrets, err := readKeyFiles("--session-key-file", a.cfg.SessionKeyFiles)
	if err != nil {
		return nil, err
	}
	if err := a.setupOIDC(ctx); err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		if secrets, err = a.sharedSecret(ctx); err != nil {
			return nil, err
		}
	}
	if err := a.setupSessions(secrets); err != nil {
		return nil, err
	}
	return a, nil
}

// setDefaults fills the fields whose zero value means a default.
func (a *Access) setDefaults() {
	c := &a.cfg
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.client == nil {
		a.client = http.DefaultClient
	}
	c.LoginPath = orDefault(c.LoginPath, DefaultLoginPath)
	c.CallbackPath = orDefault(c.CallbackPath, DefaultCallbackPath)
	c.LogoutPath = orDefault(c.LogoutPath, DefaultLogoutPath)
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = DefaultSessionLifetime
	}
	if c.OIDC.GroupsClaim == "" {
		c.OIDC.GroupsClaim = "groups"
	}
	if c.OIDC.Scopes == nil {
		c.OIDC.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	} else if !slices.Contains(c.OIDC.Scopes, oidc.ScopeOpenID) {
		c.OIDC.Scopes = append([]string{oidc.ScopeOpenID}, c.OIDC.Scopes...)
	}
	if c.OIDC.Audience == "" {
		c.OIDC.Audience = c.OIDC.ClientID
	}
	if c.OIDC.RedirectURL == "" && c.OIDC.Issuer != "" && len(c.Origins) > 0 {
		c.OIDC.RedirectURL = strings.TrimSuffix(c.Origins[0], "/") + c.CallbackPath
	}
}

// authenticated reports whether clients can prove who they are.
func (a *Access) authenticated() bool {
	return a.cfg.OIDC.Issuer != "" || a.cfg.ClientCertificates
}

// checkCombination reports settings that make no sense together.
func (a *Access) checkCombination() []error {
	var errs []error
	auth := a.authenticated()
	if !auth && (a.cfg.Viewers != nil || a.cfg.Operators != nil) {
		errs = append(errs, errors.New("--viewers and --operators need a way to identify clients: set --oidc-issuer, or --client-ca for client certificates, or drop the lists"))
	}
	if auth && a.cfg.AllowWrites {
		errs = append(errs, errors.New("--allow-writes makes everyone an operator and is only for gateways without authentication: name the operators in --operators instead"))
	}
	if auth && a.cfg.Viewers == nil && a.cfg.Operators == nil {
		errs = append(errs, errors.New("authentication is on but no one has a role: name viewers and operators in --viewers and --operators (for example --viewers '*' --operators group:ops)"))
	}
	return errs
}

// checkOIDC reports half-given OIDC settings.
func (a *Access) checkOIDC() []error {
	o := a.cfg.OIDC
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != "" || o.EndSession {
			return []error{errors.New("--oidc-client-id, --oidc-client-secret-file, --oidc-redirect-url and --oidc-end-session need --oidc-issuer: set it to the OpenID Provider's issuer URL, or drop them")}
		}
		return nil
	}
	var errs []error
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--oidc-issuer %q is not an http(s) URL: give the provider's issuer, e.g. https://accounts.example.com", o.Issuer))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("--oidc-issuer is set but --oidc-client-id is not: give the client id registered for the gateway at the provider"))
	}
	if o.RedirectURL == "" {
		errs = append(errs, fmt.Errorf("--oidc-redirect-url is not set and the gateway's origin is unknown: give the callback URL registered at the provider, e.g. https://gateway.example.com%s", a.cfg.CallbackPath))
	} else if u, err := url.Parse(o.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, fmt.Errorf("--oidc-redirect-url %q is not an absolute URL: give e.g. https://gateway.example.com%s", o.RedirectURL, a.cfg.CallbackPath))
	}
	if len(a.cfg.SessionKeyFiles) == 0 && a.cfg.SessionSecret == nil {
		errs = append(errs, errors.New("--oidc-issuer needs --session-key-file: make one with `head -c 32 /dev/urandom > session.key` and give the same file to every gateway instance"))
	}
	return errs
}

// sharedSecret is the session key from Config.SessionSecret, called only
// once the provider answered, so a gateway that cannot start has made
// none.
func (a *Access) sharedSecret(ctx context.Context) ([][]byte, error) {
	secret, err := a.cfg.SessionSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("the session key (give --session-key-file to keep it elsewhere): %w", err)
	}
	if len(secret) < MinKeySize {
		return nil, fmt.Errorf("the shared session key holds %d bytes, fewer than %d: delete it for the gateway to make a new one, or give --session-key-file", len(secret), MinKeySize)
	}
	return [][]byte{secret}, nil
}

// setupSessions derives the cookie keys from the session secrets.
func (a *Access) setupSessions(secrets [][]byte) error {
	var err error
	if a.sessionKeys, err = newKeyring(secrets, "session cookie"); err != nil {
		return err
	}
	if a.loginKeys, err = newKeyring(secrets, "login cookie"); err != nil {
		return err
	}
	bind := "\x00" + a.cfg.OIDC.Issuer + "\x00" + a.cfg.OIDC.ClientID
	a.sessionAD = []byte(SessionCookie + bind)
	a.loginAD = []byte(LoginCookie + bind)
	a.ticketAD = []byte("mesosgate-ticket" + bind)
	return nil
}

// setupOIDC reads the provider's discovery document and prepares the
// verifiers and the OAuth 2.0 client.
func (a *Access) setupOIDC(ctx context.Context) error {
	o := a.cfg.OIDC
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, a.client), o.Issuer)
	if err != nil {
		return fmt.Errorf("--oidc-issuer %q: cannot read the provider's discovery document (%s/.well-known/openid-configuration): %w; check the URL and that the gateway can reach it",
			o.Issuer, strings.TrimSuffix(o.Issuer, "/"), err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err == nil {
		a.endSession = meta.EndSession
	}
	a.provider = p
	a.oauth = oauth2.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(),
		Endpoint: p.Endpoint(), RedirectURL: o.RedirectURL, Scopes: o.Scopes,
	}
	a.idTokens = p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: a.now})
	a.bearers = p.Verifier(&oidc.Config{ClientID: o.Audience, Now: a.now})
	return nil
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ReadOnly reports a gateway on which nobody may write: no authentication
// and no --allow-writes.
func (a *Access) ReadOnly() bool { return !a.authenticated() && !a.cfg.AllowWrites }

// SignOutPath is where a signed-in browser POSTs to sign out, "" on a
// gateway without OIDC.
func (a *Access) SignOutPath() string {
	if a.provider == nil {
		return ""
	}
	return a.cfg.LogoutPath
}
