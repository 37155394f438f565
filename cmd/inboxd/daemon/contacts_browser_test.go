package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// TestContactsBrowser: the conversation page's contact panel lists the
// customer's previous conversations (its linked contacts' too) with links;
// the contacts page searches and links contacts; "?" shows the keyboard
// help; j and k move between conversations, in a list and from one
// conversation to the next, and never while typing.
func TestContactsBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	ctx := context.Background()
	ingest := func(ext, thread, text string) int64 {
		t.Helper()
		r, err := e.d.Service.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: ext, ThreadKey: thread, Text: text,
			Contact: inbox.ContactInfo{ExternalID: "mia", Name: "Mia Virtanen", Email: "mia@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct activity times
		return r.ConversationID
	}
	first := ingest("m1", "order-1", "Where is order 1?")
	second := ingest("m2", "order-2", "And order 2?")
	other := e.send("crm", "o1", "zed", "Unrelated").ConversationID
	shop := e.send("shop", "s1", "mia-shop", "Mia on the shop").ConversationID

	admin := b.tab("admin")
	b.login(admin, e.base, "owner@example.com", "owner-password", "/journal")

	// Desktop notifications are asked for once, at the first gesture
	// (headless Chromium answers at once; the question is not asked again).
	if consoleEval[bool](b, admin, `!!window.Notification`) {
		b.do(admin, chromedp.Click(chromedp.CSS(`h1`)))
		b.wait(admin, "the permission asked once", `!!localStorage.getItem('inboxd.notifications-asked')`)
	}

	// The panel of the second conversation lists the first, with a link.
	b.do(admin, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, second)))
	b.wait(admin, "the previous conversation in the contact panel",
		fmt.Sprintf(`!!document.querySelector('.conv-side #previous-conversations li[data-conversation-id="%d"] a[href="/conversations/%d"]')`, first, first))
	if n := consoleEval[int](b, admin, `document.querySelectorAll('#previous-conversations li[data-conversation-id]').length`); n != 1 {
		t.Fatalf("previous conversations listed: %d, want 1", n)
	}
	b.screenshot(admin, "contact-panel")
	b.do(admin, chromedp.Click(chromedp.CSS(`#previous-conversations a`)))
	b.wait(admin, "the previous conversation opened", fmt.Sprintf(`location.pathname === '/conversations/%d'`, first))

	// The contacts page: search, open, link the shop contact into Mia.
	b.do(admin, chromedp.Navigate(e.base+"/contacts"))
	b.wait(admin, "contacts listed", `document.querySelectorAll('#contact-results > li[data-contact-id]').length === 3`)
	b.do(admin, chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "mia virt"), chromedp.Click(chromedp.CSS(`button[name=search]`)))
	b.wait(admin, "one match", `document.querySelectorAll('#contact-results > li[data-contact-id]').length === 1`)
	b.do(admin, chromedp.Click(chromedp.CSS(`#contact-results > li a`)))
	b.wait(admin, "the contact", `!document.getElementById('contact-detail').hidden && document.querySelectorAll('#contact-conversations li[data-conversation-id]').length === 2`)
	b.do(admin, chromedp.SendKeys(chromedp.CSS(`input[name=merge-q]`), "mia-shop"), chromedp.Click(chromedp.CSS(`button[name=merge-search]`)))
	b.wait(admin, "the candidate", `!!document.querySelector('#merge-candidates button[name=merge]')`)
	b.do(admin, chromedp.Click(chromedp.CSS(`#merge-candidates button[name=merge]`)))
	b.wait(admin, "linked", `document.querySelectorAll('#contact-linked li[data-contact-id]').length === 1 && document.querySelectorAll('#contact-conversations li[data-conversation-id]').length === 3`)
	b.screenshot(admin, "contacts-page")
	// The panel now lists the shop conversation too.
	b.do(admin, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, second)))
	b.wait(admin, "the linked contact's conversation in the panel",
		fmt.Sprintf(`!!document.querySelector('#previous-conversations li[data-conversation-id="%d"]')`, shop))

	// "?" shows the help overlay; Escape closes it.
	b.do(admin, chromedp.Navigate(e.base+"/journal"))
	b.wait(admin, "four rows", `document.querySelectorAll('#rows > li[data-conversation-id]').length === 4`)
	b.do(admin, chromedp.KeyEvent("?"))
	b.wait(admin, "the help overlay", `(o => o && !o.hidden && o.getAttribute('role') === 'dialog' && o.textContent.includes('Next conversation'))(document.getElementById('keys-help'))`)
	b.screenshot(admin, "keys-help")
	b.do(admin, chromedp.KeyEvent(kb.Escape))
	b.wait(admin, "the overlay closed", `document.getElementById('keys-help').hidden`)

	// j and k move through the list (newest first: shop, other, second, first).
	ids := consoleRowIDs(b, admin)
	if len(ids) != 4 || ids[0] != shop || ids[1] != other {
		t.Fatalf("journal order %v", ids)
	}
	focused := func() string {
		return consoleEval[string](b, admin, `(document.activeElement.closest && document.activeElement.closest('li[data-conversation-id]') || {dataset: {}}).dataset.conversationId || ''`)
	}
	b.do(admin, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("j"))
	if got := focused(); got != fmt.Sprint(ids[0]) {
		t.Fatalf("j from nowhere focused %q, want %d", got, ids[0])
	}
	b.do(admin, chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k"))
	if got := focused(); got != fmt.Sprint(ids[1]) {
		t.Fatalf("j j k focused %q, want %d", got, ids[1])
	}
	// Enter opens it; on the conversation, j opens the next of the list
	// and k comes back.
	b.do(admin, chromedp.KeyEvent(kb.Enter))
	b.wait(admin, "the conversation opened", fmt.Sprintf(`location.pathname === '/conversations/%d'`, ids[1]))
	b.wait(admin, "its page ready", `document.querySelectorAll('#messages .msg').length > 0`)
	b.do(admin, chromedp.KeyEvent("j"))
	b.wait(admin, "the next conversation", fmt.Sprintf(`location.pathname === '/conversations/%d'`, ids[2]))
	b.wait(admin, "its page ready", `document.querySelectorAll('#messages .msg').length > 0`)
	b.do(admin, chromedp.KeyEvent("k"))
	b.wait(admin, "the previous conversation", fmt.Sprintf(`location.pathname === '/conversations/%d'`, ids[1]))

	// Typing j in the message box types it; r focuses the box.
	b.wait(admin, "the message box", `(c => c && !c.hidden)(document.getElementById('composer'))`)
	b.do(admin, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("r"))
	if tag := consoleEval[string](b, admin, `document.activeElement.name || ''`); tag != "message" {
		t.Fatalf("r focused %q, want the message box", tag)
	}
	// (CDP sends a key's character as an event of its own, which the
	// page's preventDefault on keydown cannot stop, unlike a real key
	// press: the box may hold the "r".)
	b.do(admin, chromedp.Evaluate[chromedp.Void](`document.querySelector('textarea[name=message]').value = ''`), chromedp.KeyEvent("jk"))
	time.Sleep(300 * time.Millisecond)
	if path := consoleEval[string](b, admin, `location.pathname`); path != fmt.Sprintf("/conversations/%d", ids[1]) {
		t.Fatalf("j while typing navigated to %s", path)
	}
	if v := consoleEval[string](b, admin, `document.querySelector('textarea[name=message]').value`); v != "jk" {
		t.Fatalf("the message box holds %q", v)
	}

	// a and n use the assign dialog and the composer's note mode
	// (button[name=assign], button[name=mode-note]): n switches to notes
	// and focuses the message box.
	b.do(admin, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("n"))
	if on := consoleEval[string](b, admin, `document.querySelector('button[name=mode-note]').getAttribute('aria-pressed') || ''`); on != "true" {
		t.Fatalf("n did not switch the composer to notes (aria-pressed %q)", on)
	}
	if name := consoleEval[string](b, admin, `document.activeElement.name || ''`); name != "message" {
		t.Fatalf("n left the focus on %q, not the message box", name)
	}
	b.do(admin, chromedp.Evaluate[chromedp.Void](`(btn => { btn.addEventListener('click', () => { window.__assigned = (window.__assigned || 0) + 1; }); document.activeElement.blur(); })(document.querySelector('button[name=assign]'))`),
		chromedp.KeyEvent("a"))
	if !consoleEval[bool](b, admin, `window.__assigned === 1`) {
		t.Fatal("a did not use the assign button")
	}

	// An agent of another queue finds no sales contact, and its panel
	// does not show the other queue's conversation.
	sam := b.tab("sam")
	b.login(sam, e.base, "sam@example.com", "password-Sam", "/inbox")
	b.do(sam, chromedp.Navigate(e.base+"/contacts"))
	b.wait(sam, "the shop contact only", `(l => l.length === 1 && l[0].textContent.includes('mia-shop'))(document.querySelectorAll('#contact-results > li[data-contact-id]'))`)
	b.do(sam, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, shop)))
	b.wait(sam, "the panel", `!!document.getElementById('previous-conversations')`)
	if n := consoleEval[int](b, sam, `document.querySelectorAll('#previous-conversations li[data-conversation-id]').length`); n != 0 {
		t.Fatalf("sam sees %d conversations of another queue", n)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
