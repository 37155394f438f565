package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestConsoleWebhooksBrowser: in real Chromium, the Integrations page
// shows a subscriber failing with its backlog and error, then caught up;
// an owner's replay resends the events after the id typed; an admin sees
// the state without a replay form.
func TestConsoleWebhooksBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	rcv := newEventReceiver(t)
	rcv.failUntil = time.Now().Add(time.Hour)
	e := startWebhooks(t, storetest.URL(t, store.SQLite), rcv.URL)
	e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
	e.send("crm", "m1", "c1", "hello")
	waitUntil(t, "the failure", func() bool { return e.webhooks().LastError != "" })

	owner := b.tab("owner")
	b.login(owner, e.base, "owner@example.com", "owner-password", "/journal")
	b.do(owner, chromedp.Navigate(e.base+"/integrations"))
	row := `document.querySelector('tr[data-subscriber="crm-events"]')`
	b.wait(owner, "the failing subscriber", row+` && `+row+`.dataset.state === 'failing' && `+row+`.dataset.backlog !== '0'`)
	if txt := consoleEval[string](b, owner, row+`.querySelector('td.error').textContent`); !strings.Contains(txt, "receiver answered 500") {
		t.Fatalf("error cell: %q", txt)
	}

	rcv.mu.Lock()
	rcv.failUntil = time.Time{}
	rcv.mu.Unlock()
	waitUntil(t, "the backlog to drain", func() bool { return e.webhooks().Backlog == 0 })
	b.do(owner, chromedp.Reload())
	b.wait(owner, "the subscriber caught up", row+` && `+row+`.dataset.backlog === '0'`)

	// Replay from the event before the last two: they come again.
	got := rcv.got()
	st := e.webhooks()
	from := st.LastEventID - 1
	var want []string
	for _, d := range got {
		var id int64
		fmt.Sscanf(d.ID, "%d:", &id)
		if id > from {
			want = append(want, d.ID)
		}
	}
	input := `tr[data-subscriber="crm-events"] input[name=from_event_id]`
	b.do(owner, chromedp.SetValue(chromedp.CSS(input), fmt.Sprint(from)),
		chromedp.Click(chromedp.CSS(`tr[data-subscriber="crm-events"] button[name=replay]`)))
	b.wait(owner, "the flash", `document.querySelector('.flash').textContent.includes('Replaying crm-events')`)
	waitUntil(t, "the replayed events", func() bool { return len(rcv.got()) >= len(got)+len(want) })
	var replayed []string
	for _, d := range rcv.got()[len(got):] {
		replayed = append(replayed, d.ID)
	}
	if strings.Join(replayed, " ") != strings.Join(want, " ") || len(want) == 0 {
		t.Fatalf("replayed %v, want %v", replayed, want)
	}

	// An admin sees the state, not the replay.
	admin := b.tab("admin")
	b.login(admin, e.base, "ada@example.com", "password-Ada", "/journal")
	b.do(admin, chromedp.Navigate(e.base+"/integrations"))
	b.wait(admin, "the subscriber", row)
	if consoleEval[bool](b, admin, `!!document.querySelector('button[name=replay]')`) {
		t.Fatal("an admin is offered the replay")
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
