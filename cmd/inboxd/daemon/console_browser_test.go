package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/inboxd/inboxd/inbox/store"
)

// browser is a headless Chromium; each tab is its own browser context, so
// each user has its own cookies.
type consoleBrowser struct {
	t    *testing.T
	root context.Context
	mu   sync.Mutex
	errs []string // script exceptions and CSP violations, from every tab
}

func consoleChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (Debian package chromium)")
	}
	t.Skip("chromium is not installed (Debian: apt-get install chromium); skipping the console browser tests")
	return ""
}

func startConsoleBrowser(t *testing.T) *consoleBrowser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(consoleChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("mute-audio", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return &consoleBrowser{t: t, root: root}
}

// tab opens a fresh browser context (no shared cookies) at 1280×800.
func (b *consoleBrowser) tab(name string) context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.fail(name, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *log.EventEntryAdded:
			if ev.Entry.Source == log.EntrySourceSecurity || strings.Contains(ev.Entry.Text, "Content Security Policy") {
				b.fail(name, "security: "+ev.Entry.Text)
			}
		}
	}))
	b.t.Cleanup(cancel)
	// The first run creates the tab and binds it to this context: no
	// timeout here, or the tab would close when it expires.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	return ctx
}

func (b *consoleBrowser) fail(tab, msg string) {
	b.mu.Lock()
	b.errs = append(b.errs, tab+": "+msg)
	b.mu.Unlock()
}

func (b *consoleBrowser) do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// wait evaluates a JavaScript predicate every 50 ms until it holds. It
// survives navigations (an evaluation in a page being left fails; the
// next one runs in the new page).
func (b *consoleBrowser) wait(ctx context.Context, what, predicate string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	page, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`location.pathname + " " + document.body.innerText.slice(0, 1500)`))
	b.t.Fatalf("waiting for %s (last error %v)\npage: %s", what, lastErr, page)
}

func consoleEval[T any](b *consoleBrowser, ctx context.Context, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *consoleBrowser) login(ctx context.Context, base, email, password, landing string) {
	b.t.Helper()
	b.do(ctx, chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.wait(ctx, "landing on "+landing, `location.pathname === "`+landing+`"`)
}

// screenshot saves a PNG into $INBOXD_SCREENSHOTS (or a temp dir).
func (b *consoleBrowser) screenshot(ctx context.Context, name string) string {
	b.t.Helper()
	dir := os.Getenv("INBOXD_SCREENSHOTS")
	if dir == "" {
		dir = b.t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

func consoleRowIDs(b *consoleBrowser, ctx context.Context) []int64 {
	return consoleEval[[]int64](b, ctx, `[...document.querySelectorAll('#rows > li[data-conversation-id]')].map(r => Number(r.dataset.conversationId))`)
}

func TestConsoleBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	crm := e.send("crm", "m1", "c1", "Hello, where is my order?")
	time.Sleep(5 * time.Millisecond) // distinct last-activity times
	shop := e.send("shop", "s1", "x1", "Do you sell gift cards?")

	// The admin sees both channels' conversations, newest first.
	admin := b.tab("admin")
	b.login(admin, e.base, "owner@example.com", "owner-password", "/journal")
	b.wait(admin, "two rows", `document.querySelectorAll('#rows > li[data-conversation-id]').length === 2`)
	if ids := consoleRowIDs(b, admin); ids[0] != shop.ConversationID || ids[1] != crm.ConversationID {
		t.Fatalf("journal order %v, want [%d %d]", ids, shop.ConversationID, crm.ConversationID)
	}
	chans := consoleEval[string](b, admin, `[...document.querySelectorAll('#rows .ch-name')].map(n => n.textContent).join(',')`)
	if chans != "Shop,CRM" {
		t.Fatalf("channels in the journal: %q", chans)
	}
	b.wait(admin, "counts", `document.querySelector('[data-count=unassigned]').textContent === '2'`)

	// A new webhook message appears at the top, live; its HTML is text.
	hostile := `<img src=x onerror="window.__xss=1"><b>bold</b> please help`
	live := e.send("crm", "m2", "c2", hostile)
	b.wait(admin, "the live row on top", fmt.Sprintf(`(document.querySelector('#rows > li') || {dataset: {}}).dataset.conversationId === '%d'`, live.ConversationID))
	if n := consoleEval[int](b, admin, `document.querySelectorAll('#rows > li[data-conversation-id]').length`); n != 3 {
		t.Fatalf("rows after the live message: %d", n)
	}
	if got := consoleEval[string](b, admin, `document.querySelector('#rows > li .c-preview').textContent`); got != hostile {
		t.Fatalf("preview %q, want the raw text", got)
	}
	b.wait(admin, "counts update", `document.querySelector('[data-count=unassigned]').textContent === '3'`)

	// Keyboard: the list is navigable; Enter opens the focused chat.
	b.do(admin, chromedp.Evaluate[chromedp.Void](`document.querySelector('#rows > li').focus()`),
		chromedp.KeyEvent(kb.ArrowDown))
	if id := consoleEval[string](b, admin, `document.activeElement.dataset.conversationId`); id != fmt.Sprint(shop.ConversationID) {
		t.Fatalf("ArrowDown focused %q, want %d", id, shop.ConversationID)
	}
	b.do(admin, chromedp.KeyEvent(kb.Enter))
	b.wait(admin, "the conversation opened by keyboard", fmt.Sprintf(`location.pathname === '/conversations/%d'`, shop.ConversationID))

	// Open the live one by clicking its name.
	b.do(admin, chromedp.Navigate(e.base+"/journal"))
	b.wait(admin, "rows again", `document.querySelectorAll('#rows > li').length === 3`)
	b.do(admin, chromedp.Click(chromedp.CSS(`#rows > li:first-child .c-title a`)))
	b.wait(admin, "the conversation", `document.querySelectorAll('#messages .msg').length === 1`)
	if got := consoleEval[string](b, admin, `document.querySelector('#messages .msg .text').textContent`); got != hostile {
		t.Fatalf("message shown as %q", got)
	}
	if consoleEval[bool](b, admin, `!!document.querySelector('#messages b, #messages img') || window.__xss === 1`) {
		t.Fatal("the message's HTML was rendered")
	}

	// Anna (agent) replies: she takes it.
	anna := b.tab("anna")
	b.login(anna, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.wait(anna, "the queue", fmt.Sprintf(`!!document.querySelector('#queue > li[data-conversation-id="%d"]')`, live.ConversationID))
	b.do(anna, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue > li[data-conversation-id="%d"] a`, live.ConversationID))))
	b.wait(anna, "Reply", `(b => b && !b.closest('[hidden]'))(document.querySelector('button[name=reply]'))`)
	if consoleEval[bool](b, anna, `!document.querySelector('button[name=join]').hidden`) {
		t.Fatal("join offered on an unassigned chat")
	}
	b.do(anna, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "Hi, Anna here. Let me check."),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	b.wait(anna, "the badge turning active", `document.getElementById('conv-status').textContent === 'active'`)
	b.wait(anna, "Anna among the participants", `document.getElementById('conv-participants').textContent.includes('Anna')`)
	b.wait(anna, "her message", `[...document.querySelectorAll('.msg.out .text')].some(n => n.textContent === 'Hi, Anna here. Let me check.')`)
	b.wait(anna, "her message sent", `(d => d && d.dataset.delivery === 'sent')(document.querySelector('.msg.out .delivery'))`)
	// The admin's open view follows live.
	b.wait(admin, "the admin's badge turning active", `document.getElementById('conv-status').textContent === 'active'`)
	b.wait(admin, "the admin sees Join", `!document.querySelector('button[name=join]').hidden`)

	// Bob (agent of the same queue) sees Join, joins, replies.
	bob := b.tab("bob")
	b.login(bob, e.base, "bob@example.com", "password-Bob", "/inbox")
	b.do(bob, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, live.ConversationID)))
	b.wait(bob, "Join", `!document.querySelector('button[name=join]').hidden`)
	if consoleEval[bool](b, bob, `!document.getElementById('composer').hidden`) {
		t.Fatal("the message box is offered before joining")
	}
	b.do(bob, chromedp.Click(chromedp.CSS(`button[name=join]`)))
	b.wait(bob, "the message box after joining", `!document.getElementById('composer').hidden && document.querySelector('button[name=join]').hidden`)
	b.wait(bob, "both participants", `document.getElementById('conv-participants').textContent === 'with Anna, Bob'`)
	b.do(bob, chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), "Bob here too."),
		chromedp.Click(chromedp.CSS(`button[name=reply]`)))
	b.wait(bob, "Bob's message", `[...document.querySelectorAll('.msg.out .author')].some(n => n.textContent === 'Bob')`)
	b.wait(anna, "Bob's message live at Anna's", `[...document.querySelectorAll('.msg.out .text')].some(n => n.textContent === 'Bob here too.')`)
	b.wait(anna, "the join line", `[...document.querySelectorAll('.activity-line')].some(n => n.textContent.startsWith('Bob joined'))`)
	b.screenshot(anna, "console-conversation")
	b.do(admin, chromedp.Navigate(e.base+"/journal"))
	b.wait(admin, "the journal with Anna and Bob", fmt.Sprintf(`(r => r && r.dataset.status === 'active' && r.querySelector('.c-parts').textContent === 'Anna, Bob')(document.querySelector('#rows > li[data-conversation-id="%d"]'))`, live.ConversationID))
	b.screenshot(admin, "console-journal")

	// Close turns it inactive, here and in the journal.
	b.do(anna, chromedp.Click(chromedp.CSS(`button[name=close]`)))
	b.wait(anna, "inactive", `document.getElementById('conv-status').textContent === 'inactive'`)
	b.wait(admin, "the journal row turning inactive live", fmt.Sprintf(`(r => r && r.dataset.status === 'inactive')(document.querySelector('#rows > li[data-conversation-id="%d"]'))`, live.ConversationID))

	// An agent cannot open the journal page.
	resp, err := chromedp.Run(anna, chromedp.NavigateResponse(e.base+"/journal"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 403 || consoleEval[bool](b, anna, `!!document.getElementById('rows')`) {
		t.Fatalf("agent on the journal page: %d", resp.Status)
	}

	// Anonymous: the login page, and back where they were headed after it.
	anon := b.tab("anon")
	b.do(anon, chromedp.Navigate(e.base+"/stats?queue=support"))
	b.wait(anon, "the login page", `location.pathname === '/login'`)
	b.do(anon, chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "wrong-password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.wait(anon, "the error", `!document.querySelector('.error').hidden`)
	b.do(anon, chromedp.SetValue(chromedp.CSS(`input[name=password]`), "owner-password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.wait(anon, "the statistics", `location.pathname === '/stats' && !!document.querySelector('.chart svg rect')`)

	// Presence switch and the admin's global switch.
	b.do(anna, chromedp.Navigate(e.base+"/inbox"))
	b.wait(anna, "the presence switch", `!!document.querySelector('select[name=presence]')`)
	b.do(anna, chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'online'; s.dispatchEvent(new Event('change')); })(document.querySelector('select[name=presence]'))`))
	b.wait(anna, "the status saved", `document.querySelector('.presence').dataset.presence === 'online'`)
	var me struct{ Status string }
	if e.call("GET", "/api/v1/me", e.anna, nil, &me); me.Status != "online" {
		t.Fatalf("anna's status: %q", me.Status)
	}
	b.do(admin, chromedp.Navigate(e.base+"/queues"))
	b.wait(admin, "the global switch", `!!document.querySelector('select[name=override][data-queue=support]')`)
	b.do(admin, chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'closed'; s.dispatchEvent(new Event('change')); })(document.querySelector('select[name=override][data-queue=support]'))`))
	b.wait(admin, "the queue closed", `(c => c && c.dataset.open === 'false')(document.querySelector('article[data-queue=support]'))`)
	var qs struct {
		Items []struct{ ID, Override string }
	}
	e.call("GET", "/api/v1/queues", e.owner, nil, &qs)
	for _, q := range qs.Items {
		if q.ID == "support" && q.Override != "closed" {
			t.Fatalf("override: %+v", q)
		}
	}
	b.wait(admin, "channel health", `document.querySelectorAll('#channels tr[data-healthy]').length === 3`)

	// Phone width: the journal fits without sideways scrolling.
	phone := b.tab("phone")
	b.do(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	b.login(phone, e.base, "owner@example.com", "owner-password", "/journal")
	b.wait(phone, "rows on the phone", `document.querySelectorAll('#rows > li').length === 3`)
	b.wait(phone, "counts on the phone", `document.querySelector('[data-count=all]').textContent === '3'`)
	if w := consoleEval[int](b, phone, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the phone layout is %dpx wide", w)
	}
	b.screenshot(phone, "console-journal-phone")
	b.do(phone, chromedp.Navigate(fmt.Sprintf("%s/conversations/%d", e.base, live.ConversationID)))
	b.wait(phone, "the conversation on the phone", `document.querySelectorAll('#messages .msg').length === 3`)
	if w := consoleEval[int](b, phone, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the phone conversation is %dpx wide", w)
	}
	b.screenshot(phone, "console-conversation-phone")

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("script errors or CSP violations:\n%s", strings.Join(b.errs, "\n"))
	}
}
