package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/inboxd/inboxd/inbox"
)

// Single sign-on with OpenID Connect: the authorization code flow with
// PKCE (S256), a state and a nonce. /auth/oidc/login stores the state's
// hash, the nonce and the PKCE verifier in the database (oidc_logins, so
// that any replica can finish the login; 10 minutes, taken once) and puts
// the state in a short-lived HttpOnly cookie scoped to /auth/oidc/, which
// binds the callback to the browser that started it. The callback checks
// state and cookie, exchanges the code with the verifier, verifies the ID
// token (signature by the issuer's keys, issuer, audience, expiry) and its
// nonce, then matches a user by verified email only. Every refusal is a
// page that says why, never a 500, and is logged without tokens or codes.

// OIDCOptions configure the identity provider (auth.oidc).
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// AllowedDomains: emails outside them are refused (empty: any domain
	// may sign in to an existing account; auto_create needs a list).
	AllowedDomains []string
	DefaultRole    inbox.Role
	DefaultQueues  []string
	AutoCreate     bool
	// ButtonLabel is the login page's button ("Sign in with …").
	ButtonLabel string
	// RedirectURL is public_url + /auth/oidc/callback.
	RedirectURL string
	// HTTPClient reaches the provider (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	Store      OIDCStore
}

// OIDCStore keeps the logins in progress and creates accounts.
type OIDCStore interface {
	PutOIDCLogin(ctx context.Context, stateHash, nonce, verifier, next string, now, expires time.Time) error
	TakeOIDCLogin(ctx context.Context, stateHash string, now time.Time) (nonce, verifier, next string, ok bool, err error)
	CreateSSOUser(ctx context.Context, u *inbox.User, audit *inbox.AuditEntry) error
}

const (
	oidcCookie   = "inboxd_oidc"
	oidcLoginTTL = 10 * time.Minute
	maxNextPath  = 512
)

// oidcClient holds the provider, discovered on first use (the provider
// may be down when inboxd starts; a failed discovery is tried again by
// the next login).
type oidcClient struct {
	o OIDCOptions

	now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	// verifier checks ID tokens with the provider's keys, fetched once and
	// again when a token names a key it does not know (rotation).
	verifier *oidc.IDTokenVerifier
}

func (oc *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, oc.o.HTTPClient)
}

func (oc *oidcClient) get(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.provider != nil {
		return oc.provider, oc.verifier, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(oc.ctx(ctx), oc.o.Issuer)
	if err != nil {
		return nil, nil, err
	}
	oc.provider = p
	oc.verifier = p.VerifierContext(oc.ctx(context.Background()), &oidc.Config{ClientID: oc.o.ClientID, Now: oc.now})
	return p, oc.verifier, nil
}

func (oc *oidcClient) config(p *oidc.Provider) *oauth2.Config {
	scopes := oc.o.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &oauth2.Config{ClientID: oc.o.ClientID, ClientSecret: oc.o.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: oc.o.RedirectURL, Scopes: scopes}
}

// oidcRoutes are public: they are the way in.
func (s *Server) oidcRoutes() []Route {
	if s.o.Auth.OIDC == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/auth/oidc/login", Public, s.oidcLogin},
		{http.MethodGet, "/auth/oidc/callback", Public, s.oidcCallback},
	}
}

// ssoError is a refusal shown as a page: reason is a stable code (the
// page's data-sso-error), message says what to do.
type ssoError struct {
	status  int
	reason  string
	message string
}

func (e *ssoError) Error() string { return e.reason + ": " + e.message }

func ssoRefuse(status int, reason, message string) *ssoError {
	return &ssoError{status: status, reason: reason, message: message}
}

func (s *Server) oidcLogin(c echo.Context) error {
	ip, now := c.RealIP(), s.o.Clock.Now()
	// Bounded cost for anonymous callers: each start writes a row.
	if d := s.ssoStarts.wait(ip, now); d > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
		return s.ssoPage(c, ssoRefuse(http.StatusTooManyRequests, "rate_limited", "Too many sign-ins from your address: try again in a few minutes."))
	}
	s.ssoStarts.fail(ip, now)
	p, _, err := s.oidc.get(c.Request().Context())
	if err != nil {
		s.o.Logger.Warn("sso: provider discovery failed", "issuer", s.o.Auth.OIDC.Issuer, "err", err)
		return s.ssoPage(c, ssoRefuse(http.StatusBadGateway, "provider_unavailable", "The sign-in provider cannot be reached. Try again later, or log in with your password."))
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	next := nextPath(c.QueryParam("next"))
	if err := s.oidc.o.Store.PutOIDCLogin(c.Request().Context(), HashToken(state), nonce, verifier, next, now, now.Add(oidcLoginTTL)); err != nil {
		if inbox.ErrorCode(err) == inbox.ERateLimited {
			return s.ssoPage(c, ssoRefuse(http.StatusTooManyRequests, "rate_limited", inbox.ErrorMessage(err)))
		}
		s.o.Logger.Warn("sso: login not stored", "err", err)
		return s.ssoPage(c, ssoRefuse(http.StatusServiceUnavailable, "unavailable", "Sign-in is unavailable right now: try again in a moment."))
	}
	c.SetCookie(&http.Cookie{Name: oidcCookie, Value: state, Path: "/auth/oidc/", HttpOnly: true,
		Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: int(oidcLoginTTL.Seconds())})
	url := s.oidc.config(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return c.Redirect(http.StatusFound, url)
}

// nextPath keeps a post-login path on this site (as safeNext does), or "".
func nextPath(n string) string {
	if len(n) > maxNextPath || !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") ||
		strings.ContainsAny(n, "\\\r\n\t") {
		return ""
	}
	return n
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("api: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) oidcCallback(c echo.Context) error {
	// The state cookie is spent whatever happens.
	c.SetCookie(&http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc/", HttpOnly: true,
		Secure: s.o.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	u, next, err := s.oidcIdentify(c)
	if err != nil {
		var se *ssoError
		if !errors.As(err, &se) {
			s.o.Logger.Warn("sso: login failed", "ip", c.RealIP(), "err", err)
			se = ssoRefuse(http.StatusServiceUnavailable, "unavailable", "Sign-in is unavailable right now: try again in a moment.")
		} else {
			s.o.Logger.Info("sso: login refused", "ip", c.RealIP(), "reason", se.reason)
		}
		if se.reason != "state_mismatch" && se.reason != "state_expired" {
			e := s.auditEntry(c, nil, inbox.AuditLoginFailed, 0)
			e.TargetType, e.TargetID = "", ""
			e.Data = map[string]string{"method": "oidc", "reason": se.reason}
			s.audit(c.Request().Context(), e)
		}
		return s.ssoPage(c, se)
	}
	if err := s.startSession(c, u, "oidc"); err != nil {
		return s.ssoPage(c, ssoRefuse(http.StatusServiceUnavailable, "unavailable", "Sign-in is unavailable right now: try again in a moment."))
	}
	e := s.auditEntry(c, u, inbox.AuditLogin, u.ID)
	e.Data = map[string]string{"method": "oidc"}
	s.audit(c.Request().Context(), e)
	s.o.Logger.Info("login", "user_id", u.ID, "ip", c.RealIP(), "method", "oidc")
	if next == "" {
		next = "/"
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// oidcClaims are the ID token's claims inboxd reads. email_verified is
// a boolean by the specification; some providers send "true".
type oidcClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"`
	Name          string `json:"name"`
}

func (cl oidcClaims) verified() bool {
	switch v := cl.EmailVerified.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// oidcIdentify runs the callback's checks and returns the user to log in.
func (s *Server) oidcIdentify(c echo.Context) (*inbox.User, string, error) {
	ctx, now := c.Request().Context(), s.o.Clock.Now()
	q := c.QueryParams()
	state := q.Get("state")
	ck, err := c.Cookie(oidcCookie)
	if state == "" || err != nil || len(state) > 200 || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		return nil, "", ssoRefuse(http.StatusBadRequest, "state_mismatch",
			"This sign-in was not started in this browser, or its cookie was lost. Start again.")
	}
	nonce, verifier, next, ok, err := s.oidc.o.Store.TakeOIDCLogin(ctx, HashToken(state), now)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", ssoRefuse(http.StatusBadRequest, "state_expired", "This sign-in has expired or was used already. Start again.")
	}
	// From here on a refusal follows a sign-in this browser started
	// (bounded by the starts' throttle): it is audited as login_failed.
	if e := q.Get("error"); e != "" {
		return nil, "", ssoRefuse(http.StatusUnauthorized, "provider_error",
			"The sign-in provider did not sign you in ("+safeWord(e)+").")
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return nil, "", ssoRefuse(http.StatusBadRequest, "no_code", "The sign-in provider sent no authorization code. Start again.")
	}
	p, idv, err := s.oidc.get(ctx)
	if err != nil {
		s.o.Logger.Warn("sso: provider discovery failed", "issuer", s.oidc.o.Issuer, "err", err)
		return nil, "", ssoRefuse(http.StatusBadGateway, "provider_unavailable", "The sign-in provider cannot be reached. Try again later.")
	}
	tctx, cancel := context.WithTimeout(s.oidc.ctx(ctx), 10*time.Second)
	defer cancel()
	tok, err := s.oidc.config(p).Exchange(tctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		s.o.Logger.Warn("sso: code exchange failed", "err", exchangeError(err))
		return nil, "", ssoRefuse(http.StatusBadGateway, "exchange_failed", "The sign-in provider did not accept the sign-in. Start again.")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", ssoRefuse(http.StatusBadGateway, "no_id_token", "The sign-in provider sent no ID token.")
	}
	idt, err := idv.Verify(tctx, raw)
	if err != nil {
		return nil, "", tokenRefusal(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, "", ssoRefuse(http.StatusUnauthorized, "nonce_mismatch", "The sign-in provider's answer does not belong to this sign-in. Start again.")
	}
	var cl oidcClaims
	if err := idt.Claims(&cl); err != nil {
		return nil, "", ssoRefuse(http.StatusBadGateway, "bad_claims", "The sign-in provider's token could not be read.")
	}
	email := strings.ToLower(strings.TrimSpace(cl.Email))
	if email == "" || len(email) > 254 || !strings.Contains(email, "@") {
		return nil, "", ssoRefuse(http.StatusForbidden, "no_email", "The sign-in provider did not share an email address.")
	}
	if !cl.verified() {
		return nil, "", ssoRefuse(http.StatusForbidden, "email_unverified", "Your email address is not verified by the sign-in provider.")
	}
	domainOK := domainAllowed(email, s.oidc.o.AllowedDomains)
	if !domainOK {
		return nil, "", ssoRefuse(http.StatusForbidden, "domain_not_allowed", "Accounts of this email domain may not sign in here.")
	}
	u, _, err := s.o.Users.Credentials(ctx, email)
	if err != nil {
		return nil, "", err
	}
	if u == nil {
		if !s.oidc.o.AutoCreate || len(s.oidc.o.AllowedDomains) == 0 {
			return nil, "", ssoRefuse(http.StatusForbidden, "no_account", "There is no account for your email address: ask an admin to invite you.")
		}
		if u, err = s.createSSOUser(c, email, cl.Name); err != nil {
			return nil, "", err
		}
	}
	if err := inbox.MayLogIn(u); err != nil {
		return nil, "", ssoRefuse(http.StatusForbidden, "account_disabled", "This account cannot log in.")
	}
	return u, next, nil
}

// tokenRefusal names why an ID token was refused.
func tokenRefusal(err error) *ssoError {
	var exp *oidc.TokenExpiredError
	switch msg := err.Error(); {
	case errors.As(err, &exp):
		return ssoRefuse(http.StatusUnauthorized, "token_expired", "The sign-in provider's token has expired. Start again.")
	case strings.Contains(msg, "audience"):
		return ssoRefuse(http.StatusUnauthorized, "wrong_audience", "The sign-in provider's token was not issued for inboxd.")
	case strings.Contains(msg, "issuer"):
		return ssoRefuse(http.StatusUnauthorized, "wrong_issuer", "The sign-in provider's token comes from another issuer.")
	}
	return ssoRefuse(http.StatusUnauthorized, "invalid_token", "The sign-in provider's token is not valid.")
}

// exchangeError is what of a failed exchange may be logged: the
// provider's error code, never the request (it holds the code and secret).
func exchangeError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return "status " + strconv.Itoa(re.Response.StatusCode) + " " + safeWord(re.ErrorCode)
	}
	return "transport error"
}

// safeWord keeps a provider's error code printable: letters, digits and
// _.- up to 64 characters.
func safeWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "error"
	}
	return b.String()
}

// domainAllowed: an empty list allows every domain.
func domainAllowed(email string, domains []string) bool {
	if len(domains) == 0 {
		return true
	}
	_, d, _ := strings.Cut(email, "@")
	for _, a := range domains {
		if strings.EqualFold(d, a) {
			return true
		}
	}
	return false
}

// createSSOUser makes an agent (default_role, default_queues) for a first
// sign-on from an allowed domain.
func (s *Server) createSSOUser(c echo.Context, email, name string) (*inbox.User, error) {
	n, err := displayName(name)
	if err != nil {
		n, _, _ = strings.Cut(email, "@")
		if n, err = displayName(n); err != nil {
			n = "New user"
		}
	}
	now := s.o.Clock.Now()
	u := &inbox.User{Email: email, Name: n, Role: s.oidc.o.DefaultRole, Queues: s.oidc.o.DefaultQueues, CreatedAt: now}
	a := &inbox.AuditEntry{CreatedAt: now, IP: c.RealIP(), Action: inbox.AuditUserCreated, TargetType: "user",
		Data: map[string]string{"method": "oidc", "role": string(u.Role), "queues": strings.Join(u.Queues, ",")}}
	if err := s.oidc.o.Store.CreateSSOUser(c.Request().Context(), u, a); err != nil {
		if inbox.ErrorCode(err) == inbox.EConflict { // a concurrent first sign-on
			got, _, err := s.o.Users.Credentials(c.Request().Context(), email)
			if err == nil && got != nil {
				return got, nil
			}
		}
		return nil, err
	}
	s.o.Logger.Info("sso: user created", "user_id", u.ID, "role", string(u.Role))
	return u, nil
}

// startSession creates the console's usual session (cookie, CSRF cookie,
// SessionTTL) for a user who has proved who it is; name tells how.
func (s *Server) startSession(c echo.Context, u *inbox.User, name string) error {
	now := s.o.Clock.Now()
	token, th := NewToken()
	if err := s.o.Users.CreateToken(c.Request().Context(), u.ID, th, "session", name, now, now.Add(SessionTTL)); err != nil {
		return err
	}
	csrf, _ := NewToken()
	s.setCookie(c, SessionCookie, token, true, now.Add(SessionTTL))
	s.setCookie(c, CSRFCookie, csrf, false, now.Add(SessionTTL))
	return nil
}

// ssoPage renders a refusal.
func (s *Server) ssoPage(c echo.Context, e *ssoError) error {
	p := page{Title: "Sign-in failed", Page: "sso_error", Data: map[string]string{"Reason": e.reason, "Message": e.message}}
	return s.render(c, e.status, "sso_error", p)
}

// loginPageData is what the login page shows beyond the form.
type loginPageData struct {
	SSOLabel      string // "" : no single sign-on
	PasswordLogin bool
}

func (s *Server) loginData() loginPageData {
	d := loginPageData{PasswordLogin: !s.o.Auth.PasswordLoginOff}
	if s.o.Auth.OIDC != nil {
		d.SSOLabel = s.o.Auth.OIDC.ButtonLabel
		if d.SSOLabel == "" {
			d.SSOLabel = "Sign in with single sign-on"
		}
	}
	return d
}

// initAuth prepares single sign-on and the throttles of the auth routes.
func (s *Server) initAuth() {
	// 100 sign-ins started per address in 15 minutes (an office behind
	// one NAT address), then 1 s, 2 s ... up to 1 min between them.
	s.ssoStarts = newThrottle(99, time.Second, time.Minute, 15*time.Minute) // the 100th start begins the wait
	if s.o.Auth.Secrets == nil {
		s.o.Auth.Secrets = &SecretBox{}
	}
	if o := s.o.Auth.OIDC; o != nil {
		oc := *o
		if oc.HTTPClient == nil {
			oc.HTTPClient = &http.Client{Timeout: 10 * time.Second}
		}
		if oc.DefaultRole == "" {
			oc.DefaultRole = inbox.RoleAgent
		}
		s.oidc = &oidcClient{o: oc, now: s.o.Clock.Now}
	}
}
