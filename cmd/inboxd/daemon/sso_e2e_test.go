package daemon_test

import (
	"context"
	"time"

	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// startSSO starts a daemon with auth.oidc pointing at a test provider.
// extra is more YAML under auth: (indented by two spaces).
func startSSO(t *testing.T, d store.Dialect, extra string) (*env, *testIdP) {
	return startSSOWith(t, d, true, extra)
}

func startSSOWith(t *testing.T, d store.Dialect, autoCreate bool, extra string) (*env, *testIdP) {
	t.Helper()
	idp := newTestIdP(t)
	addr := freeAddr(t)
	yaml := fmt.Sprintf(`
listen: %s
public_url: http://%s
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q}
auth:
  oidc:
    issuer: %s
    allow_http_issuer: true
    client_id: %s
    client_secret: %s
    allowed_domains: [example.com]
    default_queues: [sales]
    auto_create: %v
    button_label: Sign in with TestID
%s`, addr, addr, storetest.URL(t, d), secret, idp.URL, idpClientID, idpClientSecret, autoCreate, extra)
	return startYAML(t, yaml, daemon.Options{}), idp
}

// ssoResult is what the callback answered.
type ssoResult struct {
	status   int
	location string
	reason   string // the error page's data-sso-error
	body     string
	jar      http.CookieJar
}

// ssoLogin runs the flow as a browser would (cookies kept, redirects
// followed) up to the callback's answer. tamper may change the
// callback's URL before it is followed.
func ssoLogin(t *testing.T, base string, tamper func(u *url.URL)) ssoResult {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if via[len(via)-1].URL.Path == "/auth/oidc/callback" {
			return http.ErrUseLastResponse
		}
		if req.URL.Path == "/auth/oidc/callback" && tamper != nil {
			tamper(req.URL)
		}
		return nil
	}}
	resp, err := client.Get(base + "/auth/oidc/login?next=/settings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := ssoResult{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), jar: jar}
	if i := strings.Index(r.body, `data-sso-error="`); i >= 0 {
		rest := r.body[i+len(`data-sso-error="`):]
		r.reason = rest[:strings.IndexByte(rest, '"')]
	}
	return r
}

// sessionOf is the session cookie the jar holds for base.
func sessionOf(jar http.CookieJar, base string) string {
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == "inboxd_session" {
			return c.Value
		}
	}
	return ""
}

// TestEndToEndSSOLogin: a verified email of an allowed domain signs in
// (an existing user is matched, a new one created as an agent of the
// default queues), gets the console's usual session, lands on next, and
// the login is audited with method=oidc.
func TestEndToEndSSOLogin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e, idp := startSSO(t, d, "")
		e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
		idp.set(idpIdentity{Email: "Anna@Example.com", Verified: true, Name: "Anna A."})
		r := ssoLogin(t, e.base, nil)
		if r.status != http.StatusSeeOther || r.location != "/settings" {
			t.Fatalf("callback: %d %q %s", r.status, r.location, r.body)
		}
		sess := sessionOf(r.jar, e.base)
		var me struct {
			ID    int64
			Email string
			Role  string
		}
		if st := e.call("GET", "/api/v1/me", sess, nil, &me); st != 200 || me.Email != "anna@example.com" {
			t.Fatalf("me with the SSO session: %d %+v", st, me)
		}
		// A first sign-on from an allowed domain creates an agent.
		idp.set(idpIdentity{Email: "newbie@example.com", Verified: "true", Name: "New Bie"})
		r = ssoLogin(t, e.base, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("auto-create: %d %s", r.status, r.body)
		}
		var nb struct {
			Role   string
			Queues []string
			Name   string
		}
		if st := e.call("GET", "/api/v1/me", sessionOf(r.jar, e.base), nil, &nb); st != 200 || nb.Role != "agent" ||
			len(nb.Queues) != 1 || nb.Queues[0] != "sales" || nb.Name != "New Bie" {
			t.Fatalf("created user: %d %+v", st, nb)
		}
		// The password login of an SSO-only account fails like a wrong password.
		if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "newbie@example.com", "password": "anything-at-all"}, nil); st != 401 {
			t.Fatalf("password login of an SSO account: %d", st)
		}
		var actions []struct {
			Action   string
			ActorID  int64
			TargetID string
			Data     string
		}
		e.d.Store.DB().Raw(`SELECT action, actor_id, target_id, data FROM audit_log ORDER BY id`).Scan(&actions)
		var logins, created int
		for _, a := range actions {
			switch a.Action {
			case "login":
				if a.ActorID == 0 {
					t.Errorf("login entry %+v", a)
				}
				if strings.Contains(a.Data, "oidc") { // the others are the test's password logins
					logins++
				}
			case "user.created":
				created++
			}
		}
		if logins != 2 || created != 1 {
			t.Fatalf("audit: %+v", actions)
		}
	})
}

// TestEndToEndSSORefusals: each failure is a page that says why, with
// the right status, never a 500, and no session.
func TestEndToEndSSORefusals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e, idp := startSSO(t, d, "")
		e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
		for _, tc := range []struct {
			name   string
			who    idpIdentity
			tamper func(u *url.URL)
			status int
			reason string
		}{
			{"wrong audience", idpIdentity{Email: "anna@example.com", Verified: true, Audience: "another-client"}, nil, 401, "wrong_audience"},
			{"expired token", idpIdentity{Email: "anna@example.com", Verified: true, Expired: true}, nil, 401, "token_expired"},
			{"unverified email", idpIdentity{Email: "anna@example.com", Verified: false}, nil, 403, "email_unverified"},
			{"no email_verified claim", idpIdentity{Email: "anna@example.com"}, nil, 403, "email_unverified"},
			{"disallowed domain", idpIdentity{Email: "eve@evil.example", Verified: true}, nil, 403, "domain_not_allowed"},
			{"nonce mismatch", idpIdentity{Email: "anna@example.com", Verified: true, Nonce: "someone-elses"}, nil, 401, "nonce_mismatch"},
			{"state mismatch", idpIdentity{Email: "anna@example.com", Verified: true}, func(u *url.URL) {
				q := u.Query()
				q.Set("state", "forged-state")
				u.RawQuery = q.Encode()
			}, 400, "state_mismatch"},
			{"provider error", idpIdentity{Email: "anna@example.com", Verified: true}, func(u *url.URL) {
				u.RawQuery = "error=access_denied&state=" + u.Query().Get("state")
			}, 401, "provider_error"},
			{"code refused by the provider", idpIdentity{Email: "anna@example.com", Verified: true}, func(u *url.URL) {
				q := u.Query()
				q.Set("code", "not-a-code")
				u.RawQuery = q.Encode()
			}, 502, "exchange_failed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				idp.set(tc.who)
				r := ssoLogin(t, e.base, tc.tamper)
				if r.status != tc.status || r.reason != tc.reason {
					t.Fatalf("%d %q, want %d %q: %s", r.status, r.reason, tc.status, tc.reason, r.body)
				}
				if s := sessionOf(r.jar, e.base); s != "" {
					t.Fatalf("a session was set: %q", s)
				}
			})
		}
		// Refusals after a started sign-in are audited (state failures are not: anyone can send them).
		var failed []string
		e.d.Store.DB().Raw(`SELECT data FROM audit_log WHERE action = 'login_failed' ORDER BY id`).Scan(&failed)
		if len(failed) != 8 || !strings.Contains(failed[0], "wrong_audience") || !strings.Contains(failed[0], "oidc") {
			t.Fatalf("login_failed entries: %v", failed)
		}
		// A state works once: replaying a callback URL is refused.
		idp.set(idpIdentity{Email: "anna@example.com", Verified: true})
		var callback *url.URL
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == "/auth/oidc/callback" {
				callback = req.URL
			}
			if via[len(via)-1].URL.Path == "/auth/oidc/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := client.Get(e.base + "/auth/oidc/login")
		if err != nil || resp.StatusCode != 303 {
			t.Fatalf("first use: %v %v", resp, err)
		}
		resp.Body.Close()
		// The cookie was spent; give it back as an attacker holding both would.
		u, _ := url.Parse(e.base + "/auth/oidc/")
		jar.SetCookies(u, []*http.Cookie{{Name: "inboxd_oidc", Value: callback.Query().Get("state"), Path: "/auth/oidc/"}})
		resp, err = client.Get(callback.String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), `data-sso-error="state_expired"`) {
			t.Fatalf("replayed callback: %d %s", resp.StatusCode, b)
		}
		// Without auto_create, or for an unknown email outside it: refused.
		idp.set(idpIdentity{Email: "ghost@example.com", Verified: true})
		if r := ssoLogin(t, e.base, nil); r.status != http.StatusSeeOther {
			t.Fatalf("auto-create in an allowed domain: %d %s", r.status, r.body)
		}
	})
}

// TestEndToEndPasswordLoginOff: with auth.password_login false only the
// bootstrap owner logs in with a password; the login page offers the
// provider's button.
func TestEndToEndPasswordLoginOff(t *testing.T) {
	e, _ := startSSO(t, store.SQLite, "  password_login: false\n")
	e.addUserNoLogin("anna@example.com", "Anna", inbox.RoleAgent, nil)
	var out struct {
		Error struct{ Code, Message string }
	}
	if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "anna@example.com", "password": "password-Anna"}, &out); st != 403 ||
		out.Error.Code != "forbidden" {
		t.Fatalf("agent's password login: %d %+v", st, out)
	}
	if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "x"}, nil); st != 403 {
		t.Fatalf("unknown email: %d (must answer as for any other account)", st)
	}
	e.login("owner@example.com", "owner-password") // the break-glass account
	// Without auto_create an unknown (verified, allowed) email has no way in.
	e2, idp := startSSOWith(t, store.SQLite, false, "")
	idp.set(idpIdentity{Email: "stranger@example.com", Verified: true})
	if r := ssoLogin(t, e2.base, nil); r.status != 403 || r.reason != "no_account" {
		t.Fatalf("unknown email without auto_create: %d %q", r.status, r.reason)
	}
	resp, err := http.Get(e.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `href="/auth/oidc/login" data-sso>Sign in with TestID</a>`) {
		t.Fatalf("login page without the SSO button: %s", b)
	}
}

// addUserNoLogin stores a user with the password "password-<name>".
func (e *env) addUserNoLogin(email, name string, role inbox.Role, queues []string) *inbox.User {
	e.t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("password-"+name), bcrypt.MinCost)
	u := &inbox.User{Email: email, Name: name, Role: role, Queues: queues, CreatedAt: time.Now().UTC()}
	if err := e.d.Store.CreateUser(context.Background(), u, string(h)); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// TestEndToEndSSOStartsLimited: one address starts at most 100 sign-ins
// in 15 minutes; then a page says to wait (429 with Retry-After).
func TestEndToEndSSOStartsLimited(t *testing.T) {
	e, _ := startSSO(t, store.SQLite, "")
	e.clock.freeze()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 101 {
		resp, err := client.Get(e.base + "/auth/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case i < 100 && resp.StatusCode != http.StatusFound:
			t.Fatalf("start %d: %d", i, resp.StatusCode)
		case i == 100 && (resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(b), `data-sso-error="rate_limited"`)):
			t.Fatalf("start 101: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	var waiting int64
	e.d.Store.DB().Raw(`SELECT COUNT(*) FROM oidc_logins`).Scan(&waiting)
	if waiting != 100 {
		t.Fatalf("%d logins waiting, want 100", waiting)
	}
}
