package daemon_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// TestConsoleUsersBrowser: an admin invites an agent from the Users page
// and sees the link; the agent opens it, sets a password and lands in
// the console; the admin deactivates the agent, whose console is then
// logged out; the audit page lists what happened.
func TestConsoleUsersBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
	admin := b.tab("admin")
	b.login(admin, e.base, "ada@example.com", "password-Ada", "/journal")
	b.do(admin, chromedp.Navigate(e.base+"/users"))
	b.wait(admin, "the users list", `document.querySelectorAll('#users tr[data-user-id]').length === 5`)
	// An admin may only invite agents: the role list says so.
	if n := consoleEval[int](b, admin, `document.querySelectorAll('#invite select[name=role] option').length`); n != 1 {
		t.Fatalf("an admin is offered %d roles", n)
	}
	b.do(admin, chromedp.SetValue(chromedp.CSS(`#invite input[name=email]`), "ivy@example.com"),
		chromedp.SetValue(chromedp.CSS(`#invite input[name=name]`), "Ivy"),
		chromedp.Click(chromedp.CSS(`#invite input[name=queues][value=sales]`)),
		chromedp.Click(chromedp.CSS(`#invite button[name=invite]`)))
	b.wait(admin, "the invitation link", `!document.querySelector('#invite .invite-link').hidden`)
	link := consoleEval[string](b, admin, `document.querySelector('#invite input[name=invite_url]').value`)
	if len(link) < len(e.base)+10 || link[:len(e.base)] != e.base {
		t.Fatalf("invite link %q", link)
	}
	b.wait(admin, "the invited row", `document.querySelector('#users tr[data-account-status=invited] td.name')?.textContent === 'Ivy'`)

	ivy := b.tab("ivy")
	b.do(ivy, chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "ivys-password-1"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password2]`), "ivys-password-1"),
		chromedp.Click(chromedp.CSS(`button[name=accept]`)))
	b.wait(ivy, "Ivy's console", `location.pathname === '/inbox'`)
	b.wait(ivy, "Ivy's name in the header", `document.querySelector('header .who')?.textContent === 'Ivy'`)

	// Deactivate her from the list.
	b.do(admin, chromedp.Reload())
	b.wait(admin, "Ivy active", `document.querySelector('#users tr[data-account-status=active] td.name') !== null &&
		[...document.querySelectorAll('#users tr[data-account-status=active]')].some(r => r.querySelector('td.name').textContent === 'Ivy')`)
	b.do(admin, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#users tr')].find(r => r.querySelector('td.name')?.textContent === 'Ivy').querySelector('button[name=deactivate]').click()`))
	b.wait(admin, "Ivy deactivated", `[...document.querySelectorAll('#users tr[data-account-status=deactivated]')].some(r => r.querySelector('td.name').textContent === 'Ivy')`)
	// Her open console loses its session: the next call goes to the login.
	b.do(ivy, chromedp.Navigate(e.base+"/inbox"))
	b.wait(ivy, "Ivy logged out", `location.pathname === '/login'`)

	b.do(admin, chromedp.Navigate(e.base+"/audit"))
	b.wait(admin, "the audit log", `document.querySelector('#audit tr[data-action="user.deactivated"]') !== null &&
		document.querySelector('#audit tr[data-action="user.invited"]') !== null`)
	b.screenshot(admin, "console-audit")
	b.do(admin, chromedp.SetValue(chromedp.CSS(`#audit-filter select[name=action]`), "user.invited"),
		chromedp.Click(chromedp.CSS(`#audit-filter button[name=filter]`)))
	b.wait(admin, "the filter", `document.querySelectorAll('#audit tr').length === 1`)
	if st := e.call("GET", "/api/v1/audit?action=user.deactivated", e.owner, nil, nil); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}
