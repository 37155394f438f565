package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestConsoleBrowserAssignAndNotes (real Chromium): Anna assigns a chat
// to Bob with the picker, and Bob sees it appear live in "My
// conversations" (and is told); Bob writes a private note mentioning Anna
// with "@" completion, and Anna is notified.
func TestConsoleBrowserAssignAndNotes(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	bobUser, _, err := e.d.Store.Credentials(context.Background(), "bob@example.com")
	if err != nil || bobUser == nil {
		t.Fatalf("bob: %v", err)
	}
	r := e.send("crm", "m1", "c1", "My parcel never arrived")
	id := r.ConversationID

	bob := b.tab("bob")
	b.login(bob, e.base, "bob@example.com", "password-Bob", "/inbox")
	b.wait(bob, "the chat in bob's queue list", fmt.Sprintf(`!!document.querySelector('#queue > li[data-conversation-id="%d"]')`, id))
	if consoleEval[bool](b, bob, fmt.Sprintf(`!!document.querySelector('#mine > li[data-conversation-id="%d"]')`, id)) {
		t.Fatal("the chat is already in bob's own list")
	}

	// Anna takes the chat by replying, then hands it to Bob.
	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(anna, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, id)))
	b.wait(anna, "the composer", `!document.getElementById('composer').hidden`)
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "Let me hand you to our parcel expert."),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	b.wait(anna, "the assign button", `!document.querySelector('button[name=assign]').hidden && document.getElementById('conv-status').textContent === 'active'`)
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=assign]`)))
	b.wait(anna, "the picker with bob and the sales queue", fmt.Sprintf(
		`document.getElementById('assign-dialog').open && !!document.querySelector('select[name=assignee] option[value="user:%d"]') && !!document.querySelector('select[name=assignee] option[value="queue:sales"]')`, bobUser.ID))
	b.do(anna, chromedp.SetValue(chromedp.CSS(`select[name=assignee]`), fmt.Sprintf("user:%d", bobUser.ID)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=assign-note]`), "Parcel lost in transit"),
		chromedp.Click(chromedp.CSS(`button[name=assign-confirm]`)))

	// Bob's "My conversations" gets it live, and he is told.
	b.wait(bob, "the chat live in bob's own list", fmt.Sprintf(`!!document.querySelector('#mine > li[data-conversation-id="%d"]')`, id))
	b.wait(bob, "the assignment notice", `(f => !f.hidden && f.dataset.notification === 'assigned' && f.textContent.includes('Anna assigned you'))(document.querySelector('.flash'))`)
	b.wait(anna, "anna back on her list", `location.pathname === '/inbox'`)

	// Bob opens it: the hand-over note is there, marked as a note.
	b.do(bob, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#mine > li[data-conversation-id="%d"] a`, id))))
	b.wait(bob, "the hand-over note", `[...document.querySelectorAll('#messages li[data-kind=note] .text')].some(n => n.textContent === 'Parcel lost in transit')`)
	b.wait(bob, "the assigned line", `[...document.querySelectorAll('.activity-line')].some(n => n.textContent.startsWith('Anna assigned the conversation to Bob'))`)

	// A note with a mention, completed from "@An".
	b.do(bob, chromedp.Click(chromedp.CSS(`button[name=mode-note]`)))
	b.wait(bob, "note mode", `document.querySelector('button[name=mode-note]').getAttribute('aria-pressed') === 'true'`)
	b.do(bob, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "@An"))
	b.wait(bob, "the mention list", `(l => !l.hidden && [...l.querySelectorAll('[role=option]')].some(o => o.textContent === 'Anna'))(document.getElementById('mention-list'))`)
	b.do(bob, chromedp.KeyEvent("\r"))
	b.wait(bob, "the completed mention", `document.querySelector('textarea[name=message]').value === '@Anna '`)
	b.do(bob, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "was it insured?"),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	b.wait(bob, "the note in the timeline", `[...document.querySelectorAll('#messages li[data-kind=note]')].some(n =>
		n.querySelector('.text').textContent === '@Anna was it insured?' && n.querySelector('.mentions').textContent === 'Mentioned: Anna')`)
	b.wait(anna, "anna's mention notice", `(f => !f.hidden && f.dataset.notification === 'mention' && f.textContent.includes('Bob mentioned you'))(document.querySelector('.flash'))`)
	b.screenshot(bob, "console-note")

	// The note never went to the customer's channel.
	for _, h := range e.callback.hits() {
		if strings.Contains(string(h.body), "insured") || strings.Contains(string(h.body), "Parcel lost") {
			t.Fatalf("a note reached the callback: %s", h.body)
		}
	}
	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
