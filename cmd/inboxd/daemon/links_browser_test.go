package daemon_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestLinksBrowser: in real Chromium, "Create ticket" against a fake ticket
// system on 127.0.0.1 stores and shows the link; the system's 500 shows an
// error and a retry works; a link added by URL, and its removal, reach a
// colleague's open page live.
func TestLinksBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	ts := newTicketSystem(t)
	e := startTickets(t, store.SQLite, ts)
	conv := e.send("crm", "m1", "c1", "My parcel never came").ConversationID
	if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": "Let me check."}, nil); st != 201 {
		t.Fatalf("anna takes it: %d", st)
	}
	page := fmt.Sprintf("%s/conversations/%d", e.base, conv)

	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(anna, chromedp.Navigate(page))
	b.wait(anna, "the Create ticket button with the configured label",
		`(x => x && !x.hidden && x.textContent === 'Open a desk ticket')(document.querySelector('button[name=create-ticket]'))`)
	b.wait(anna, "no links yet", `document.querySelector('#link-list .empty') !== null`)

	admin := b.tab("admin")
	b.login(admin, e.base, "owner@example.com", "owner-password", "/journal")
	b.do(admin, chromedp.Navigate(page))
	b.wait(admin, "the admin's links panel", `!document.getElementById('links').hidden`)

	// The ticket system fails: the error is shown, nothing is linked.
	ts.setFail(500)
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=create-ticket]`)))
	b.wait(anna, "the error naming the system's status",
		`(x => !x.hidden && x.textContent.includes('answered 500'))(document.getElementById('links-error'))`)
	if n := consoleEval[int](b, anna, `document.querySelectorAll('#link-list li[data-link-id]').length`); n != 0 {
		t.Fatalf("%d links shown after a failure", n)
	}
	b.wait(anna, "the button back for a retry", `!document.querySelector('button[name=create-ticket]').disabled`)

	// The retry works: the link is stored and shown, here and live at
	// the admin's.
	ts.setFail(0)
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=create-ticket]`)))
	ticketLink := fmt.Sprintf(`(a => a && a.getAttribute('href').startsWith(%q) && a.textContent === 'Ticket 2')(document.querySelector('#link-list li[data-link-id] a'))`, ts.URL+"/tickets/")
	b.wait(anna, "the ticket's link", ticketLink)
	b.wait(anna, "the error gone", `document.getElementById('links-error').hidden`)
	b.wait(admin, "the ticket's link live at the admin's", ticketLink)
	var ll linkList
	if e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/links", conv), e.anna, nil, &ll); len(ll.Items) != 1 ||
		!strings.HasPrefix(ll.Items[0].URL, ts.URL+"/tickets/") || ll.Items[0].System != "desk" {
		t.Fatalf("stored links: %+v", ll.Items)
	}
	b.wait(anna, "the activity line", `[...document.querySelectorAll('.activity-line')].some(n => n.textContent.startsWith('Anna linked Ticket 2'))`)

	// The manual path: a refused URL shows the server's error; a good one
	// is linked.
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`#link-form input[name=url]`), "ftp://files.example.com/x"),
		chromedp.Click(chromedp.CSS(`button[name=add-link]`)))
	b.wait(anna, "the URL refused", `(x => !x.hidden && x.textContent.includes('http or https'))(document.getElementById('links-error'))`)
	b.do(anna, chromedp.SetValue(chromedp.CSS(`#link-form input[name=url]`), "https://jira.example.com/browse/SUP-9"),
		chromedp.SendKeys(chromedp.CSS(`#link-form input[name=title]`), "SUP-9"),
		chromedp.Click(chromedp.CSS(`button[name=add-link]`)))
	b.wait(anna, "the manual link", `[...document.querySelectorAll('#link-list a')].some(a => a.textContent === 'SUP-9' && a.href === 'https://jira.example.com/browse/SUP-9')`)
	b.wait(admin, "the manual link live", `[...document.querySelectorAll('#link-list a')].some(a => a.textContent === 'SUP-9')`)
	b.screenshot(anna, "console-conversation-links")

	// Removing it: gone here and at the admin's; the ticket stays.
	b.do(anna, chromedp.Click(chromedp.CSS(`#link-list li:last-child button[name=delete-link]`)))
	b.wait(anna, "the link removed", `![...document.querySelectorAll('#link-list a')].some(a => a.textContent === 'SUP-9')`)
	b.wait(admin, "the removal live", `![...document.querySelectorAll('#link-list a')].some(a => a.textContent === 'SUP-9') && document.querySelectorAll('#link-list li[data-link-id]').length === 1`)

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
