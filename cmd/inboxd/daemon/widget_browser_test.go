package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
)

// The browser tests drive Debian's Chromium (apt-get install chromium)
// against inboxd's own demo page, which embeds the widget with the
// one-line snippet. Without Chromium they skip, except under CI=true.

// browserChannels and browserQueues give each widget mode a channel: site
// (support: live while Anna is online, the contact form when closed), msg
// (messenger, in German), off (offline message with hours, on the left,
// green), hid (hidden).
const browserChannels = `  - {id: msg, kind: widget, name: Messenger, queue: msgq, lang: de}
  - {id: off, kind: widget, name: Offline, queue: offq, colors: {primary: "#0b6e4f"}, position: left}
  - {id: hid, kind: widget, name: Hidden, queue: hideq}
`

const browserQueues = `  - {id: support, name: Support, online_message: "We usually answer within a few minutes.",
     offline: {mode: contact_form, message: "We are closed. Leave us a message.",
               questions: [{id: order, label: "Order number", required: false}]}}
  - {id: sales, name: Sales}
  - {id: msgq, name: Messenger, offline: {mode: messenger}}
  - {id: offq, name: Offline, timezone: Europe/Helsinki, hours: {open: "0 9 * * MON-FRI", close: "0 17 * * MON-FRI"},
     offline: {mode: message, message: "We are closed right now."}}
  - {id: hideq, name: Hidden, offline: {mode: hidden}}
`

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := "/usr/bin/chromium"
	if _, err := os.Stat(exe); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			exe = p
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is not installed: CI must run the browser tests (apt-get install chromium)")
		} else {
			t.Skip("chromium is not installed (apt-get install chromium); skipping the browser tests")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(800, 640),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	dir := os.Getenv("INBOXD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: ctx, dir: dir}
	b.do(chromedp.EmulateViewport(800, 640))
	// Script errors fail the test: the widget must run clean.
	chromedp.Listen(ctx, func(ev any) {
		if ex, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			t.Errorf("script error: %s %v", ex.ExceptionDetails.Text, ex.ExceptionDetails.Exception)
		}
	})
	// An alert() would mean the page ran injected HTML.
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("a dialog opened: %q (HTML injection?)", ev.Message)
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// shadow is a JS path into the widget's (open) shadow root.
func shadow(channel, selector string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`document.getElementById(%q).shadowRoot.querySelector(%q)`, "inboxd-widget-"+channel, selector))
}

// js is the expression of a JS path, to build conditions with.
func js(p chromedp.JSPath) string { return string(p) }

// eval evaluates a JS expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JS condition until it holds: deterministic, no sleeps
// that hope. On timeout it fails with what is shown.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(function(){try{return !!(`+cond+`)}catch(e){return false}})()`))
		if err != nil {
			b.t.Fatalf("wait for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(){var h=document.querySelector('[id^=inboxd-widget]');return h&&h.shadowRoot?h.shadowRoot.innerHTML:'no widget'})()`))
			b.t.Fatalf("timed out waiting for %s; widget: %s", what, html)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}

func TestWidgetInBrowser(t *testing.T) {
	b := newBrowser(t)
	e := startWidget(t, store.SQLite, browserChannels, browserQueues)
	if st := e.call("PUT", "/api/v1/me/status", e.anna, map[string]string{"status": "online"}, nil); st != 200 {
		t.Fatalf("anna online: %d", st)
	}
	for _, q := range []string{"offq"} {
		if st := e.call("PUT", "/api/v1/queues/"+q+"/override", e.owner, map[string]string{"override": "closed"}, nil); st != 200 {
			t.Fatalf("close %s: %d", q, st)
		}
	}

	// Live: the visitor writes; the journal shows it unassigned.
	b.do(chromedp.Navigate(e.base + "/widget/v1/site/demo"))
	b.waitFor("the live widget", js(shadow("site", `.root[data-mode="live"]`)))
	label := eval[string](b, js(shadow("site", "button.launcher"))+`.getAttribute('aria-label')`)
	if label != "Open chat" {
		t.Fatalf("launcher label %q", label)
	}
	b.do(chromedp.Click(shadow("site", "button.launcher")))
	b.waitFor("the dialog", js(shadow("site", `[role=dialog]`))+`.hidden === false && `+js(shadow("site", "textarea[name=message]"))+` === document.getElementById('inboxd-widget-site').shadowRoot.activeElement`)
	b.do(chromedp.SendKeys(shadow("site", "textarea[name=message]"), "Hello from the browser"),
		chromedp.Click(shadow("site", "button[name=send]")))
	b.waitFor("the message stored", js(shadow("site", `[role=log] [data-direction="in"][data-id]`)))
	var pg page
	e.call("GET", "/api/v1/journal?channel=site", e.owner, nil, &pg)
	if len(pg.Items) != 1 || pg.Items[0].Status != "unassigned" || !strings.HasPrefix(pg.Items[0].Title, "#") ||
		pg.Items[0].Preview != "Hello from the browser" {
		t.Fatalf("journal: %+v", pg.Items)
	}
	conv := pg.Items[0].ID
	// The live feed follows the new conversation (typing is live-only).
	b.waitFor("the feed to follow the conversation", js(shadow("site", `.root[data-feed="`+strconv.FormatInt(pg.Items[0].Number, 10)+`"]`)))

	// An agent replies through the API: the reply appears, with the name.
	if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/typing", conv), e.anna, nil, nil); st != 204 {
		t.Fatalf("typing: %d", st)
	}
	b.waitFor("the typing indicator", js(shadow("site", ".typing"))+`.textContent === 'Anna is typing…'`)
	e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": "Hi, Anna here. How can I help?"}, nil)
	b.waitFor("the reply", js(shadow("site", `[data-direction="out"] .text`))+`.textContent === 'Hi, Anna here. How can I help?'`)
	author := eval[string](b, js(shadow("site", `[data-direction="out"] .author`))+`.textContent`)
	if author != "Anna" {
		t.Fatalf("author %q", author)
	}

	// HTML from the visitor is shown as text and never runs.
	xss := `<img src=x onerror=alert(1)>`
	b.do(chromedp.SendKeys(shadow("site", "textarea[name=message]"), xss))
	if v := eval[string](b, js(shadow("site", "textarea[name=message]"))+`.value`); v != xss {
		t.Fatalf("typed %q", v)
	}
	b.do(chromedp.Click(shadow("site", "button[name=send]")))
	b.waitFor("the HTML message stored", `Array.from(document.getElementById('inboxd-widget-site').shadowRoot.querySelectorAll('[data-direction="in"][data-id] .text')).some(n => n.textContent === `+jsString(xss)+`)`)
	imgs := eval[int](b, `document.getElementById('inboxd-widget-site').shadowRoot.querySelectorAll('img').length + document.querySelectorAll('img').length`)
	if imgs != 0 {
		t.Fatalf("%d img elements: the message was parsed as HTML", imgs)
	}
	b.screenshot("widget-live.png")

	// The unread badge: a reply while the panel is closed.
	b.do(chromedp.Click(shadow("site", "button.close")))
	e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": "Are you still there?"}, nil)
	b.waitFor("the unread badge", js(shadow("site", ".badge"))+`.hidden === false && `+js(shadow("site", ".badge"))+`.textContent === '1'`)
	label = eval[string](b, js(shadow("site", "button.launcher"))+`.getAttribute('aria-label')`)
	if label != "Open chat (1 new messages)" {
		t.Fatalf("launcher label with unread: %q", label)
	}

	// A reload keeps the history (the token is in localStorage) and the badge.
	b.do(chromedp.Reload())
	b.waitFor("the history after reload", js(shadow("site", `[role=log]`))+`.querySelectorAll('[data-id]').length === 4`)
	b.waitFor("the badge after reload", js(shadow("site", ".badge"))+`.textContent === '1'`)
	texts := eval[[]string](b, `Array.from(document.getElementById('inboxd-widget-site').shadowRoot.querySelectorAll('[role=log] .text')).map(n => n.textContent)`)
	if fmt.Sprint(texts) != fmt.Sprint([]string{"Hello from the browser", "Hi, Anna here. How can I help?", xss, "Are you still there?"}) {
		t.Fatalf("history after reload: %q", texts)
	}
	b.do(chromedp.Click(shadow("site", "button.launcher")))
	b.waitFor("the badge cleared", js(shadow("site", ".badge"))+`.hidden === true`)

	// The global switch: closed turns the chat into the contact form at
	// once, without a reload.
	if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "closed"}, nil); st != 200 {
		t.Fatalf("override closed: %d", st)
	}
	b.waitFor("the contact form", js(shadow("site", `.root[data-mode="contact_form"]`))+` && `+js(shadow("site", "button[name=submit]")))
	b.screenshot("widget-contact_form.png")
	fill := func(name, value string) {
		b.do(chromedp.SendKeys(shadow("site", `[name="`+name+`"]`), value))
	}
	fill("name", "Maija Meikäläinen")
	fill("email", "maija@example.com")
	fill("message", "Please call me back about <b>my order</b>.")
	fill("answers.order", "A-1234")
	b.do(chromedp.Click(shadow("site", "button[name=submit]")))
	b.waitFor("the form sent", js(shadow("site", `form[data-sent="true"]`)))
	var contacts struct {
		Items []map[string]any
	}
	if st := e.call("GET", "/api/v1/queues/support/contacts", e.owner, nil, &contacts); st != 200 || len(contacts.Items) != 1 {
		t.Fatalf("registered contacts: %d %+v", st, contacts)
	}
	if raw, _ := json.Marshal(contacts.Items[0]); !strings.Contains(string(raw), "maija@example.com") || !strings.Contains(string(raw), "A-1234") {
		t.Fatalf("registered contact: %s", raw)
	}
	// And back to auto: live again, still without a reload.
	e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "auto"}, nil)
	b.waitFor("live again", js(shadow("site", `.root[data-mode="live"]`))+` && `+js(shadow("site", "textarea[name=message]")))

	// Messenger (nobody serves msgq), in German as configured.
	b.do(chromedp.Navigate(e.base + "/widget/v1/msg/demo"))
	b.waitFor("the messenger widget", js(shadow("msg", `.root[data-mode="messenger"]`)))
	label = eval[string](b, js(shadow("msg", "button.launcher"))+`.getAttribute('aria-label')`)
	if label != "Chat öffnen" {
		t.Fatalf("German launcher label %q", label)
	}
	b.do(chromedp.Click(shadow("msg", "button.launcher")),
		chromedp.SendKeys(shadow("msg", "textarea[name=message]"), "Bitte um Rückruf"),
		chromedp.Click(shadow("msg", "button[name=send]")))
	b.waitFor("the messenger message stored", js(shadow("msg", `[data-direction="in"][data-id]`))+` && `+js(shadow("msg", "input[name=follow_email]")))
	b.screenshot("widget-messenger.png")

	// Offline with the hours (offq is switched closed), on the left, green.
	b.do(chromedp.Navigate(e.base + "/widget/v1/off/demo"))
	b.waitFor("the offline widget", js(shadow("off", `.root[data-mode="offline"]`)))
	b.do(chromedp.Click(shadow("off", "button.launcher")))
	b.waitFor("the opening hours", js(shadow("off", ".hours li"))+`.textContent.length > 0 && `+js(shadow("off", ".offline-message"))+`.textContent === 'We are closed right now.'`)
	pos := eval[string](b, js(shadow("off", ".root"))+`.getAttribute('data-position')`)
	if pos != "left" {
		t.Fatalf("position %q", pos)
	}
	b.screenshot("widget-offline.png")

	// Hidden: nothing is shown.
	b.do(chromedp.Navigate(e.base + "/widget/v1/hid/demo"))
	b.waitFor("the hidden widget", js(shadow("hid", `.root[data-mode="hidden"]`)))
	visible := eval[bool](b, js(shadow("hid", "button.launcher"))+`.getClientRects().length > 0`)
	if visible {
		t.Fatal("the launcher of a hidden widget is visible")
	}
	b.screenshot("widget-hidden.png")

	// A phone: the open panel fills the screen; the history is there.
	b.do(chromedp.EmulateViewport(390, 760, chromedp.EmulateMobile), chromedp.Navigate(e.base+"/widget/v1/site/demo"))
	b.waitFor("the widget on a phone", js(shadow("site", `.root[data-mode="live"]`)))
	b.do(chromedp.Click(shadow("site", "button.launcher")))
	b.waitFor("the full-screen panel", js(shadow("site", `[role=dialog]`))+`.getBoundingClientRect().width === window.innerWidth && window.innerWidth === 390 && `+
		js(shadow("site", `[role=log]`))+`.querySelectorAll('[data-id]').length === 4`)
	b.screenshot("widget-live-phone.png")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
