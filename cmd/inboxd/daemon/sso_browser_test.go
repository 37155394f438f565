package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// TestConsoleSSOBrowser: in real Chromium, the login page's "Sign in
// with …" button goes through the in-test provider and back to the
// page the visitor was headed for, logged in with the console's usual
// session; a refused sign-in (an unverified email) shows a page that
// says why, and the browser holds no session.
func TestConsoleSSOBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e, idp := startSSO(t, store.SQLite, "")
	e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	idp.set(idpIdentity{Email: "anna@example.com", Verified: true, Name: "Anna"})

	tab := b.tab("sso")
	b.do(tab, chromedp.Navigate(e.base+"/login?next=%2Fsettings"))
	b.wait(tab, "the SSO button", `document.querySelector('a[data-sso]') !== null`)
	if label := consoleEval[string](b, tab, `document.querySelector('a[data-sso]').textContent`); label != "Sign in with TestID" {
		t.Fatalf("button label %q", label)
	}
	b.do(tab, chromedp.Click(chromedp.CSS(`a[data-sso]`)))
	b.wait(tab, "landing on /settings", `location.pathname === "/settings" && document.body.dataset.userName === "Anna"`)
	if n := idp.issued(); n != 1 {
		t.Fatalf("%d ID tokens issued, want 1", n)
	}
	// The session is the usual one: the API answers with the cookie and CSRF header.
	b.do(tab, chromedp.SetValue(chromedp.CSS(`#profile input[name=name]`), "Anna SSO"),
		chromedp.Click(chromedp.CSS(`#profile button[name=save_profile]`)))
	b.wait(tab, "the saved name", `document.querySelector('#profile .result').textContent === 'Saved.'`)

	// A refusal: a fresh browser context, an unverified email.
	idp.set(idpIdentity{Email: "anna@example.com", Verified: false})
	bad := b.tab("sso-refused")
	b.do(bad, chromedp.Navigate(e.base+"/login"))
	b.wait(bad, "the SSO button", `document.querySelector('a[data-sso]') !== null`)
	b.do(bad, chromedp.Click(chromedp.CSS(`a[data-sso]`)))
	b.wait(bad, "the refusal page", `document.querySelector('main[data-sso-error]') !== null`)
	if reason := consoleEval[string](b, bad, `document.querySelector('main').dataset.ssoError`); reason != "email_unverified" {
		t.Fatalf("reason %q", reason)
	}
	msg := consoleEval[string](b, bad, `document.querySelector('[role=alert]').textContent`)
	if !strings.Contains(msg, "not verified") {
		t.Fatalf("message %q", msg)
	}
	b.screenshot(bad, "console-sso-refused")
	b.do(bad, chromedp.Navigate(e.base+"/inbox"))
	b.wait(bad, "the login page (no session)", `location.pathname === "/login"`)
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}

// TestConsoleTwoFactorBrowser: enrol from Settings (QR code, key,
// recovery codes shown once), then the login page asks for the code;
// a reused code is refused, a recovery code works.
func TestConsoleTwoFactorBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	e.clock.freeze()
	now := e.clock.Now()
	tab := b.tab("enrol")
	b.login(tab, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(tab, chromedp.Navigate(e.base+"/settings#two-factor"))
	b.wait(tab, "the 2FA section", `document.querySelector('#two-factor').dataset.enabled === 'false'`)
	b.do(tab, chromedp.Click(chromedp.CSS(`button[name=enrol_2fa]`)))
	b.wait(tab, "the QR code", `document.querySelector('.tf-qr').naturalWidth > 0 && document.querySelectorAll('.tf-codes li').length === 10`)
	secret := consoleEval[string](b, tab, `document.querySelector('.tf-secret').textContent`)
	recovery := consoleEval[[]string](b, tab, `[...document.querySelectorAll('.tf-codes li')].map(li => li.textContent)`)
	b.screenshot(tab, "console-2fa-enrol")
	b.do(tab, chromedp.SendKeys(chromedp.CSS(`#confirm-2fa input[name=code]`), codeAt(t, secret, now)),
		chromedp.Click(chromedp.CSS(`#confirm-2fa button[name=confirm_2fa]`)))
	b.wait(tab, "2FA on", `document.querySelector('#two-factor').dataset.enabled === 'true' && document.querySelector('.tf-enrol').hidden`)

	// Log in again: the code field appears after the password.
	loginWith := func(name, field, value string) context.Context {
		lt := b.tab(name)
		b.do(lt, chromedp.Navigate(e.base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "anna@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "password-Anna"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)))
		b.wait(lt, "the code field", `!document.querySelector('.second-factor').hidden`)
		if field == "recovery_code" {
			b.do(lt, chromedp.Click(chromedp.CSS(`button[name=use_recovery]`)))
		}
		b.do(lt, chromedp.SendKeys(chromedp.CSS(`input[name=`+field+`]`), value),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)))
		return lt
	}
	code := codeAt(t, secret, now.Add(30*time.Second))
	lt := loginWith("code", "code", code)
	b.wait(lt, "landing on /inbox", `location.pathname === "/inbox"`)
	again := loginWith("reused", "code", code)
	b.wait(again, "the refusal", `document.querySelector('form.login .error').textContent.includes('used already')`)
	rc := loginWith("recovery", "recovery_code", recovery[0])
	b.wait(rc, "landing on /inbox", `location.pathname === "/inbox"`)

	// The owner resets Anna's from Settings; she logs in with her password alone.
	ot := b.tab("owner")
	b.login(ot, e.base, "owner@example.com", "owner-password", "/journal")
	b.do(ot, chromedp.Navigate(e.base+"/settings#two-factor"))
	b.wait(ot, "Anna in the reset list", `[...document.querySelectorAll('#reset-2fa option')].some(o => o.textContent.startsWith('Anna'))`)
	b.do(ot, chromedp.Click(chromedp.CSS(`#reset-2fa button[name=reset_2fa]`)))
	b.wait(ot, "the reset", `document.querySelector('#reset-2fa .result').textContent.startsWith('Reset for Anna')`)
	if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "anna@example.com", "password": "password-Anna"}, nil); st != 200 {
		t.Fatalf("login after the reset: %d", st)
	}
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}
