package daemon_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestConsoleLoginNextStaysOnSite: after logging in, the login page
// follows ?next= only to a path of inboxd itself, as the browser resolves
// it: tabs and newlines inside the URL, //host, a backslash and absolute
// URLs all end on the console's home; a good next still works.
func TestConsoleLoginNextStaysOnSite(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	for _, tc := range []struct{ next, landing string }{
		{"/%09/evil.example", "/journal"},
		{"/%0A/evil.example", "/journal"},
		{"/%0D/evil.example", "/journal"},
		{"//evil.example", "/journal"},
		{"https://evil.example", "/journal"},
		{"/%5Cevil.example", "/journal"},
		{"%2F%5Cevil.example", "/journal"},
		{"javascript:alert(1)", "/journal"},
		{"/.//evil.example", "//evil.example"}, // on this site: a path that looks like a host
		{"%2Fsettings%3Ftab%3Dtokens%23tk-title", "/settings"},
	} {
		t.Run(tc.next, func(t *testing.T) {
			tab := b.tab("next")
			b.do(tab, chromedp.Navigate(e.base+"/login?next="+tc.next),
				chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
				chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "owner-password"),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)))
			b.wait(tab, "leaving the login page", `location.pathname !== "/login"`)
			b.wait(tab, "landing on "+tc.landing, `location.pathname === `+jsString(tc.landing)+` || !location.href.startsWith(`+jsString(e.base+"/")+`)`)
			href := consoleEval[string](b, tab, `location.href`)
			u, err := url.Parse(href)
			if err != nil || u.Scheme+"://"+u.Host != e.base {
				t.Fatalf("next=%s left the site: %s", tc.next, href)
			}
			if u.Path != tc.landing {
				t.Fatalf("next=%s: landed on %s, want %s", tc.next, href, tc.landing)
			}
			if tc.landing == "/settings" && (u.RawQuery != "tab=tokens" || u.Fragment != "tk-title") {
				t.Fatalf("next's query or fragment lost: %s", href)
			}
		})
	}
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}

// TestConsoleSettingsTokensBrowser: the settings page creates a token
// with an expiry date and lists it; changing the password with the
// checkbox left checked revokes the token.
func TestConsoleSettingsTokensBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	tab := b.tab("anna")
	b.login(tab, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(tab, chromedp.Navigate(e.base+"/settings"))
	b.wait(tab, "the token form", `document.querySelector('#new-token input[name=expires_at]') !== null`)
	// A date a month ahead, as the date input takes it.
	b.do(tab, chromedp.SetValue(chromedp.CSS(`#new-token input[name=name]`), "crm sync"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#new-token input[name=expires_at]').value =
			new Date(Date.now() + 30 * 864e5).toISOString().slice(0, 10)`),
		chromedp.Click(chromedp.CSS(`#new-token button[name=create_token]`)))
	b.wait(tab, "the new token", `!document.getElementById('token-once').hidden && document.querySelectorAll('#tokens tr').length === 1`)
	token := consoleEval[string](b, tab, `document.querySelector('#token-once code').textContent`)
	expires := consoleEval[string](b, tab, `document.querySelector('#tokens tr td:nth-child(3)').textContent`)
	if expires == "" || expires == "never" {
		t.Fatalf("the token's expiry shows %q", expires)
	}
	var list struct {
		Items []struct {
			ExpiresAt *string `json:"expires_at"`
		}
	}
	if e.call("GET", "/api/v1/me/tokens", e.anna, nil, &list); len(list.Items) != 1 || list.Items[0].ExpiresAt == nil {
		t.Fatalf("stored token: %+v", list)
	}
	if st := e.call("GET", "/api/v1/me", token, nil, nil); st != 200 {
		t.Fatalf("the new token: %d", st)
	}
	if !consoleEval[bool](b, tab, `document.querySelector('#password input[name=revoke_tokens]').checked`) {
		t.Fatal("revoke_tokens is not checked by default")
	}
	b.do(tab, chromedp.SetValue(chromedp.CSS(`#password input[name=current_password]`), "password-Anna"),
		chromedp.SetValue(chromedp.CSS(`#password input[name=new_password]`), "a-new-password"),
		chromedp.Click(chromedp.CSS(`#password button[name=save_password]`)))
	b.wait(tab, "the change", `document.querySelector('#password .result').textContent.startsWith('Password changed')`)
	b.wait(tab, "the token list emptied", `document.querySelectorAll('#tokens tr').length === 0`)
	if st := e.call("GET", "/api/v1/me", token, nil, nil); st != 401 {
		t.Fatalf("the token after the password change: %d, want 401", st)
	}
	b.screenshot(tab, "console-settings-tokens")
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}
