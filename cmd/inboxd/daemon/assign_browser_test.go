package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	waitLong(b, bob, "the chat in bob's queue list", fmt.Sprintf(`!!document.querySelector('#queue > li[data-conversation-id="%d"]')`, id))
	if consoleEval[bool](b, bob, fmt.Sprintf(`!!document.querySelector('#mine > li[data-conversation-id="%d"]')`, id)) {
		t.Fatal("the chat is already in bob's own list")
	}
	b.do(bob, chromedp.Evaluate[chromedp.Void](recordNotices))

	// Anna takes the chat by replying, then hands it to Bob.
	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(anna, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, id)))
	waitLong(b, anna, "the composer", `!document.getElementById('composer').hidden`)
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "Let me hand you to our parcel expert."),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	waitLong(b, anna, "the assign button", `!document.querySelector('button[name=assign]').hidden && document.getElementById('conv-status').textContent === 'active'`)
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=assign]`)))
	waitLong(b, anna, "the picker with bob and the sales queue", fmt.Sprintf(
		`document.getElementById('assign-dialog').open && !!document.querySelector('select[name=assignee] option[value="user:%d"]') && !!document.querySelector('select[name=assignee] option[value="queue:sales"]')`, bobUser.ID))
	b.do(anna, chromedp.SetValue(chromedp.CSS(`select[name=assignee]`), fmt.Sprintf("user:%d", bobUser.ID)),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=assign-note]`), "Parcel lost in transit"),
		chromedp.Click(chromedp.CSS(`button[name=assign-confirm]`)))

	// Bob's "My conversations" gets it live, and he is told.
	waitLong(b, bob, "the chat live in bob's own list", fmt.Sprintf(`!!document.querySelector('#mine > li[data-conversation-id="%d"]')`, id))
	waitLong(b, bob, "the assignment notice", `(window.__notices || []).some(n => n.kind === 'assigned' && n.flash.startsWith('Assigned to you by Anna: Customer c1'))`)
	waitLong(b, anna, "anna back on her list", `location.pathname === '/inbox' && document.readyState === 'complete'`)
	b.do(anna, chromedp.Evaluate[chromedp.Void](recordNotices))

	// Bob opens it: the hand-over note is there, marked as a note.
	b.do(bob, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#mine > li[data-conversation-id="%d"] a`, id))))
	waitLong(b, bob, "the hand-over note", `[...document.querySelectorAll('#messages li[data-kind=note] .text')].some(n => n.textContent === 'Parcel lost in transit')`)
	waitLong(b, bob, "the assigned line", `[...document.querySelectorAll('.activity-line')].some(n => n.textContent.startsWith('Anna assigned the conversation to Bob'))`)

	// A note with a mention, completed from "@An".
	b.do(bob, chromedp.Click(chromedp.CSS(`button[name=mode-note]`)))
	waitLong(b, bob, "note mode", `document.querySelector('button[name=mode-note]').getAttribute('aria-pressed') === 'true'`)
	b.do(bob, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "@An"))
	waitLong(b, bob, "the mention list", `(l => !l.hidden && [...l.querySelectorAll('[role=option]')].some(o => o.textContent === 'Anna'))(document.getElementById('mention-list'))`)
	b.do(bob, chromedp.KeyEvent("\r"))
	waitLong(b, bob, "the completed mention", `document.querySelector('textarea[name=message]').value === '@Anna '`)
	b.do(bob, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "was it insured?"),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	waitLong(b, bob, "the note in the timeline", `[...document.querySelectorAll('#messages li[data-kind=note]')].some(n =>
		n.querySelector('.text').textContent === '@Anna was it insured?' && n.querySelector('.mentions').textContent === 'Mentioned: Anna')`)
	waitLong(b, anna, "anna's mention notice", `(window.__notices || []).some(n => n.kind === 'mention' && n.flash.startsWith('Bob mentioned you in Customer c1') && n.flash.includes('was it insured?'))`)
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

// recordNotices keeps the page's notifications (kind, and the notice shown
// on the page then), which the page shows for a few seconds only.
const recordNotices = `document.body.addEventListener('ibx-notified', (e) => {
	(window.__notices = window.__notices || []).push({ kind: e.detail.kind, flash: document.querySelector('.flash').textContent });
})`

// waitLong is consoleBrowser.wait with room for a loaded machine: live
// updates cross the daemon's notifier and two feeds.
func waitLong(b *consoleBrowser, ctx context.Context, what, predicate string) {
	b.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.wait(ctx, what, predicate) // fails with the page's text
}
