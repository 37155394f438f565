package daemon_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestConsolePrivacyBrowser: in real Chromium, an admin exports and then
// erases a customer's data from the conversation page; another admin's
// journal drops the row live, the agent who has the conversation open is
// told it was erased, and agents get no such buttons.
func TestConsolePrivacyBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	dana := e.send("crm", "p1", "dana", "Please forget me")
	eli := e.send("crm", "p2", "eli", "Keep me")
	convPath := fmt.Sprintf("%s/conversations/%d", e.base, dana.ConversationID)
	row := func(id int64) string {
		return fmt.Sprintf(`document.querySelector('#rows > li[data-conversation-id="%d"]')`, id)
	}

	viewer := b.tab("viewer")
	b.login(viewer, e.base, "owner@example.com", "owner-password", "/journal")
	b.wait(viewer, "both rows", row(dana.ConversationID)+" && "+row(eli.ConversationID))

	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(anna, chromedp.Navigate(convPath))
	b.wait(anna, "the message", `document.querySelectorAll('#messages .msg').length === 1`)
	if consoleEval[bool](b, anna, `!document.getElementById('contact-privacy').hidden || !!document.querySelector('button[name=erase-contact]')`) {
		t.Fatal("an agent is offered the export or the erasure")
	}

	admin := b.tab("admin")
	b.login(admin, e.base, "owner@example.com", "owner-password", "/journal")
	b.do(admin, chromedp.Navigate(convPath))
	b.wait(admin, "the privacy buttons", `(x => x && !x.closest('[hidden]'))(document.querySelector('button[name=export-contact]'))`)
	b.do(admin, chromedp.Click(chromedp.CSS(`button[name=export-contact]`)))
	b.wait(admin, "the export", `document.querySelector('.flash').textContent.startsWith('Exported the data of')`)

	// The erasure asks first: refused, nothing happens.
	b.do(admin, chromedp.Evaluate[chromedp.Void](`window.confirm = () => false`),
		chromedp.Click(chromedp.CSS(`button[name=erase-contact]`)))
	if st, _ := e.conversation(e.owner, dana.ConversationID); st != 200 {
		t.Fatalf("erased without confirmation: %d", st)
	}
	b.do(admin, chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`button[name=erase-contact]`)))
	b.wait(admin, "the erasure's summary", `document.querySelector('.flash').textContent.includes('1 conversations, 1 messages')`)
	b.wait(admin, "back to the journal", `location.pathname === '/journal'`)
	if st, _ := e.conversation(e.owner, dana.ConversationID); st != 404 {
		t.Fatalf("the erased conversation answers %d", st)
	}

	b.wait(viewer, "the erased row gone, live", "!"+row(dana.ConversationID)+" && "+row(eli.ConversationID))
	b.wait(anna, "the open conversation told", `document.querySelector('.conv').dataset.status === 'deleted' &&
		document.querySelectorAll('#messages .msg').length === 0 && !document.getElementById('conv-notice').hidden`)
	b.wait(admin, "the journal without it", row(eli.ConversationID)+" && !"+row(dana.ConversationID))
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("browser errors:\n%s", strings.Join(b.errs, "\n"))
	}
}
