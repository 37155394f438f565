package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestWorkspaceBrowser: in a real Chromium, "/" in the composer opens the
// canned replies (role="listbox") and inserts the chosen one filled for
// the conversation; tags set on the conversation page show as chips
// (data-tag) in the journal, whose tag filter narrows it.
func TestWorkspaceBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	first := e.send("crm", "m1", "c1", "Where is my order?")
	time.Sleep(5 * time.Millisecond)
	second := e.send("crm", "m2", "c2", "Another question")
	if st := e.call("POST", "/api/v1/tags", e.owner, map[string]string{"name": "vip", "color": "#aa0000"}, nil); st != 201 {
		t.Fatalf("tag: %d", st)
	}
	if st := e.call("POST", "/api/v1/canned", e.owner, map[string]any{"shortcut": "thanks", "title": "Thank you",
		"text": "Thank you {{contact.name}}, {{agent.name}} will look into request #{{conversation.number}}."}, nil); st != 201 {
		t.Fatalf("canned: %d", st)
	}

	// Anna manages a personal canned reply on the settings page.
	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(anna, chromedp.Navigate(e.base+"/canned"))
	b.wait(anna, "the shared reply listed", `document.querySelectorAll('#canned-rows tr[data-canned-id]').length === 1`)
	if consoleEval[bool](b, anna, `!!document.querySelector('#canned-rows button[name=edit]')`) {
		t.Fatal("an agent is offered to edit a shared canned reply")
	}
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`#canned-form input[name=shortcut]`), "tr"),
		chromedp.SendKeys(chromedp.CSS(`#canned-form input[name=title]`), "Tracking"),
		chromedp.SendKeys(chromedp.CSS(`#canned-form textarea[name=text]`), "Your tracking link is on its way."),
		chromedp.Click(chromedp.CSS(`#canned-form button[name=save_canned]`)))
	b.wait(anna, "her reply listed", `document.querySelectorAll('#canned-rows tr[data-canned-id]').length === 2`)

	// "/" in the composer: the list, filtered as she types; Enter inserts.
	b.do(anna, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, first.ConversationID)))
	b.wait(anna, "the composer", `!document.getElementById('composer').hidden`)
	b.do(anna, chromedp.Click(chromedp.CSS(`textarea[name=message]`)), chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "/"))
	b.wait(anna, "the listbox with both replies", `(l => l && !l.hidden && l.querySelectorAll('[role=option]').length === 2)(document.querySelector('[role=listbox]'))`)
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "tha"))
	b.wait(anna, "the listbox filtered", `document.querySelectorAll('[role=listbox] [role=option]').length === 1`)
	b.do(anna, chromedp.KeyEvent(kb.Enter))
	var number int64
	var d struct{ Number int64 }
	e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", first.ConversationID), e.owner, nil, &d)
	number = d.Number
	want := fmt.Sprintf("Thank you Customer c1, Anna will look into request #%d.", number)
	b.wait(anna, "the filled text", fmt.Sprintf(`document.querySelector('textarea[name=message]').value === %q`, want))
	if !consoleEval[bool](b, anna, `document.querySelector('[role=listbox]').hidden`) {
		t.Fatal("the listbox stayed open")
	}
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	b.wait(anna, "the reply sent", fmt.Sprintf(`[...document.querySelectorAll('.msg.out .text')].some(n => n.textContent === %q)`, want))

	// Tags on the conversation page.
	b.wait(anna, "the tag picker", `[...document.querySelectorAll('select[name=add-tag] option')].some(o => o.value === 'vip')`)
	b.do(anna, chromedp.SetValue(chromedp.CSS(`select[name=add-tag]`), "vip"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name=add-tag]').dispatchEvent(new Event('change'))`))
	b.wait(anna, "the chip", `!!document.querySelector('#conv-tags [data-tag="vip"]')`)
	b.wait(anna, "the activity line", `[...document.querySelectorAll('.activity-line')].some(n => n.textContent.includes('changed the tags: +vip'))`)

	// The journal: chips, and the filter narrows it.
	admin := b.tab("admin")
	b.login(admin, e.base, "owner@example.com", "owner-password", "/journal")
	b.wait(admin, "two rows", `document.querySelectorAll('#rows > li[data-conversation-id]').length === 2`)
	b.wait(admin, "the chip in its row", fmt.Sprintf(`!!document.querySelector('#rows > li[data-conversation-id="%d"] [data-tag="vip"]')`, first.ConversationID))
	if consoleEval[bool](b, admin, fmt.Sprintf(`!!document.querySelector('#rows > li[data-conversation-id="%d"] [data-tag]')`, second.ConversationID)) {
		t.Fatal("an untagged row shows a tag")
	}
	b.wait(admin, "the filter's option", `[...document.querySelectorAll('select[name=tag] option')].some(o => o.value === 'vip')`)
	b.do(admin, chromedp.SetValue(chromedp.CSS(`select[name=tag]`), "vip"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name=tag]').dispatchEvent(new Event('change'))`))
	b.wait(admin, "one row", `document.querySelectorAll('#rows > li[data-conversation-id]').length === 1`)
	if ids := consoleRowIDs(b, admin); ids[0] != first.ConversationID {
		t.Fatalf("filtered rows %v", ids)
	}
	// A tag set elsewhere arrives live in the filtered journal.
	if st := e.call("PUT", fmt.Sprintf("/api/v1/conversations/%d/tags", second.ConversationID), e.owner, map[string]any{"tags": []string{"vip"}}, nil); st != 200 {
		t.Fatalf("tag the second: %d", st)
	}
	b.wait(admin, "the second row, live", `document.querySelectorAll('#rows > li[data-conversation-id] [data-tag="vip"]').length === 2`)
	// A reply (an event without tags) keeps the row's chip.
	e.send("crm", "m3", "c2", "More")
	time.Sleep(300 * time.Millisecond)
	b.wait(admin, "chips kept", `document.querySelectorAll('#rows > li[data-conversation-id] [data-tag="vip"]').length === 2`)
	b.screenshot(admin, "console-journal-tags")

	// The admins' tag list on the canned replies page.
	b.do(admin, chromedp.Navigate(e.base+"/canned"))
	b.wait(admin, "the tag listed", `!!document.querySelector('#tag-rows [data-tag="vip"]')`)
	b.do(admin, chromedp.SendKeys(chromedp.CSS(`#tag-form input[name=name]`), "Billing"),
		chromedp.Click(chromedp.CSS(`#tag-form button[name=create_tag]`)))
	b.wait(admin, "the new tag", `!!document.querySelector('#tag-rows [data-tag="billing"]')`)

	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
