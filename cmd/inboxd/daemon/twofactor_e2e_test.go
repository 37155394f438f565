package daemon_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// enrolment is POST /api/v1/me/2fa's answer.
type enrolment struct {
	Secret        string   `json:"secret"`
	OTPAuthURL    string   `json:"otpauth_url"`
	RecoveryCodes []string `json:"recovery_codes"`
	QR            string   `json:"qr_png"`
}

// codeAt is the TOTP code of secret at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	raw, err := inbox.DecodeTOTPSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return inbox.TOTPCode(raw, inbox.TOTPStep(at))
}

func start2FA(t *testing.T, d store.Dialect, authYAML string) *env {
	t.Helper()
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q}
%s`, storetest.URL(t, d), secret, authYAML)
	return startYAML(t, yaml, startOpts())
}

// TestEndToEndTwoFactor: enrol (secret, otpauth URL, QR code, ten
// recovery codes), confirm, then a login needs a code: none answers
// 2fa_required, a right one logs in, the same code again is refused, a
// recovery code works once; turning it off takes a code; an owner resets
// another user's (an admin may not); every change is audited.
func TestEndToEndTwoFactor(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := start2FA(t, d, "auth: {totp_key: a-long-enough-totp-key}")
		e.clock.freeze()
		anna := e.addUser("anna@example.com", "Anna", inbox.RoleAgent, nil)
		admin := e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
		login := func(body map[string]string, out any) int {
			body["email"], body["password"] = "anna@example.com", "password-Anna"
			return e.call("POST", "/api/v1/auth/login", "", body, out)
		}
		var en enrolment
		if st := e.call("POST", "/api/v1/me/2fa", anna, map[string]any{}, &en); st != 200 || len(en.RecoveryCodes) != 10 ||
			en.Secret == "" || en.QR[:22] != "data:image/png;base64," || en.OTPAuthURL[:15] != "otpauth://totp/" {
			t.Fatalf("enrol: %d %+v", st, en)
		}
		// Pending: logins do not ask yet; the secret is sealed in the database.
		if st := login(map[string]string{}, nil); st != 200 {
			t.Fatalf("login while pending: %d", st)
		}
		var stored string
		e.d.Store.DB().Raw(`SELECT totp_secret FROM users WHERE email = 'anna@example.com'`).Scan(&stored)
		if stored[:3] != "v1:" || containsFold(stored, en.Secret) {
			t.Fatalf("secret stored as %q", stored)
		}
		var bad apiError
		if st := e.call("POST", "/api/v1/me/2fa/confirm", anna, map[string]string{"code": "000000"}, &bad); st != 400 || bad.Error.Field != "code" {
			t.Fatalf("wrong confirmation: %d %+v", st, bad)
		}
		now := e.clock.Now()
		if st := e.call("POST", "/api/v1/me/2fa/confirm", anna, map[string]string{"code": codeAt(t, en.Secret, now)}, nil); st != 200 {
			t.Fatalf("confirm: %d", st)
		}
		if st := e.call("POST", "/api/v1/me/2fa", anna, map[string]any{}, nil); st != 409 {
			t.Fatalf("re-enrol while on: %d", st)
		}
		// A login without a code: 2fa_required.
		var ae apiError
		if st := login(map[string]string{}, &ae); st != 401 || ae.Error.Code != "2fa_required" || ae.Error.Field != "code" {
			t.Fatalf("login without a code: %d %+v", st, ae)
		}
		// The confirming code was used: the same step is refused.
		if st := login(map[string]string{"code": codeAt(t, en.Secret, now)}, &ae); st != 401 || ae.Error.Code != "unauthorized" {
			t.Fatalf("the confirming code reused: %d %+v", st, ae)
		}
		next := now.Add(30 * time.Second)
		var ok struct{ Token string }
		if st := login(map[string]string{"code": codeAt(t, en.Secret, next)}, &ok); st != 200 || ok.Token == "" {
			t.Fatalf("login with a fresh code: %d", st)
		}
		if st := login(map[string]string{"code": codeAt(t, en.Secret, next)}, &ae); st != 401 {
			t.Fatalf("a code used twice: %d", st)
		}
		// A recovery code works once.
		if st := login(map[string]string{"recovery_code": en.RecoveryCodes[2]}, &ok); st != 200 {
			t.Fatalf("recovery code: %d", st)
		}
		if st := login(map[string]string{"recovery_code": en.RecoveryCodes[2]}, &ae); st != 401 || ae.Error.Field != "recovery_code" {
			t.Fatalf("recovery code twice: %d %+v", st, ae)
		}
		var status struct {
			Enabled           bool `json:"enabled"`
			RecoveryCodesLeft int  `json:"recovery_codes_left"`
		}
		if st := e.call("GET", "/api/v1/me/2fa", ok.Token, nil, &status); st != 200 || !status.Enabled || status.RecoveryCodesLeft != 9 {
			t.Fatalf("status: %d %+v", st, status)
		}
		// Turning it off needs a code; a recovery code does.
		if st := e.call("DELETE", "/api/v1/me/2fa", ok.Token, map[string]string{"code": "123456"}, nil); st != 400 {
			t.Fatalf("disable with a wrong code: %d", st)
		}
		if st := e.call("DELETE", "/api/v1/me/2fa", ok.Token, map[string]string{"code": en.RecoveryCodes[5]}, nil); st != 204 {
			t.Fatalf("disable: %d", st)
		}
		if st := login(map[string]string{}, nil); st != 200 {
			t.Fatalf("login after disabling: %d", st)
		}
		// Enrol again; an owner resets it, an admin may not.
		var en2 enrolment
		e.call("POST", "/api/v1/me/2fa", anna, map[string]any{}, &en2)
		if st := e.call("POST", "/api/v1/me/2fa/confirm", anna, map[string]string{"code": codeAt(t, en2.Secret, now)}, nil); st != 200 {
			t.Fatalf("confirm again: %d", st)
		}
		var annaID int64
		e.d.Store.DB().Raw(`SELECT id FROM users WHERE email = 'anna@example.com'`).Scan(&annaID)
		path := "/api/v1/users/" + strconv.FormatInt(annaID, 10) + "/2fa"
		if st := e.call("DELETE", path, admin, nil, nil); st != 403 {
			t.Fatalf("admin resets: %d", st)
		}
		if st := e.call("DELETE", "/api/v1/users/999999/2fa", e.owner, nil, nil); st != 404 {
			t.Fatalf("reset of an unknown user: %d", st)
		}
		if st := e.call("DELETE", path, e.owner, nil, nil); st != 204 {
			t.Fatalf("owner resets: %d", st)
		}
		if st := e.call("DELETE", path, e.owner, nil, nil); st != 409 {
			t.Fatalf("reset twice: %d", st)
		}
		if st := login(map[string]string{}, nil); st != 200 {
			t.Fatalf("login after the reset: %d", st)
		}
		var failures int64
		e.d.Store.DB().Raw(`SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed' AND data LIKE '%2fa%'`).Scan(&failures)
		if failures != 3 { // the reused confirming code, the code used twice, the recovery code used twice
			t.Fatalf("%d login_failed entries for codes, want 3", failures)
		}
		var actions []string
		e.d.Store.DB().Raw(`SELECT action FROM audit_log WHERE action LIKE '2fa.%' ORDER BY id`).Scan(&actions)
		if want := []string{"2fa.enabled", "2fa.disabled", "2fa.enabled", "2fa.reset"}; fmt.Sprint(actions) != fmt.Sprint(want) {
			t.Fatalf("audit %v, want %v", actions, want)
		}
	})
}

// TestEndToEndTwoFactorThrottled: wrong codes at login count as failed
// logins (429 after five), and wrong codes on the settings routes are
// throttled per user.
func TestEndToEndTwoFactorThrottled(t *testing.T) {
	e := start2FA(t, store.SQLite, "")
	e.clock.freeze()
	anna := e.addUser("anna@example.com", "Anna", inbox.RoleAgent, nil)
	var en enrolment
	e.call("POST", "/api/v1/me/2fa", anna, map[string]any{}, &en)
	var last int
	for range 7 {
		last = e.call("POST", "/api/v1/me/2fa/confirm", anna, map[string]string{"code": "000000"}, nil)
	}
	if last != 429 {
		t.Fatalf("wrong confirmation codes: %d, want 429", last)
	}
	e2 := start2FA(t, store.SQLite, "")
	e2.clock.freeze()
	bob := e2.addUser("bob@example.com", "Bob", inbox.RoleAgent, nil)
	e2.call("POST", "/api/v1/me/2fa", bob, map[string]any{}, &en)
	if st := e2.call("POST", "/api/v1/me/2fa/confirm", bob, map[string]string{"code": codeAt(t, en.Secret, e2.clock.Now())}, nil); st != 200 {
		t.Fatalf("confirm: %d", st)
	}
	for range 7 {
		last = e2.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": "password-Bob", "code": "000000"}, nil)
	}
	if last != 429 {
		t.Fatalf("wrong login codes: %d, want 429", last)
	}
}

// TestEndToEndRequire2FA: with auth.require_2fa a user without it may
// call only the enrolment routes, GET /api/v1/me and logout (403
// 2fa_enrolment_required elsewhere) and console pages lead to Settings;
// once enrolled, everything answers.
func TestEndToEndRequire2FA(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := start2FA(t, d, "auth: {require_2fa: true}")
		e.clock.freeze()
		anna := e.addUser("anna@example.com", "Anna", inbox.RoleAgent, nil)
		var ae apiError
		if st := e.call("GET", "/api/v1/conversations", anna, nil, &ae); st != 403 || ae.Error.Code != "2fa_enrolment_required" {
			t.Fatalf("before enrolling: %d %+v", st, ae)
		}
		if st := e.call("GET", "/api/v1/me", anna, nil, nil); st != 200 {
			t.Fatalf("me: %d", st)
		}
		var status struct{ Required bool }
		if st := e.call("GET", "/api/v1/me/2fa", anna, nil, &status); st != 200 || !status.Required {
			t.Fatalf("status: %d %+v", st, status)
		}
		req, _ := newNoRedirect(e.base+"/inbox", anna)
		if req.status != 303 || req.location != "/settings#two-factor" {
			t.Fatalf("console page: %d %q", req.status, req.location)
		}
		var en enrolment
		e.call("POST", "/api/v1/me/2fa", anna, map[string]any{}, &en)
		if st := e.call("POST", "/api/v1/me/2fa/confirm", anna, map[string]string{"code": codeAt(t, en.Secret, e.clock.Now())}, nil); st != 200 {
			t.Fatalf("confirm: %d", st)
		}
		if st := e.call("GET", "/api/v1/conversations", anna, nil, nil); st != 200 {
			t.Fatalf("after enrolling: %d", st)
		}
	})
}

func startOpts() daemon.Options { return daemon.Options{} }

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToUpper(s), strings.ToUpper(sub))
}

type pageAnswer struct {
	status   int
	location string
}

// newNoRedirect GETs a console page with a bearer token, without
// following its redirect.
func newNoRedirect(u, token string) (pageAnswer, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return pageAnswer{}, err
	}
	resp.Body.Close()
	return pageAnswer{resp.StatusCode, resp.Header.Get("Location")}, nil
}
