package daemon_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/adapters/widget"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

const (
	identitySecret = "identity-secret-0123456789"
	shopOrigin     = "https://shop.example"
)

// startWidget starts a daemon with two widget channels: "site" (allowed
// origin, identity verification) and "tight" (small rate limits). The
// daemon trusts 127.0.0.1 as a proxy, so a test plays several client
// addresses with X-Forwarded-For.
// moreChannels are added; queues replace the default two (support, sales).
func startWidget(t *testing.T, d store.Dialect, moreChannels, queues string) *env {
	t.Helper()
	if queues == "" {
		queues = "  - {id: support, name: Support}\n  - {id: sales, name: Sales}\n"
	}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
trusted_proxies: [127.0.0.1/32]
channels:
  - {id: site, kind: widget, name: Website, queue: support, allowed_origins: [%q], identity_secret: %q}
  - {id: tight, kind: widget, name: Tight, queue: sales,
     rate_limits: {ip_per_minute: 8, visitor_per_minute: 4}, max_message_length: 50}
%squeues:
%s`, storetest.URL(t, d), shopOrigin, identitySecret, moreChannels, queues)
	cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dm, err := daemon.Start(context.Background(), cfg, daemon.Options{
		Logger: slog.New(slog.DiscardHandler), Notice: io.Discard, BcryptCost: bcrypt.MinCost, OutboxPoll: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	e := &env{t: t, d: dm, base: "http://" + dm.Addr}
	e.owner = e.login("owner@example.com", "owner-password")
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support", "sales"})
	e.bob = e.addUser("bob@example.com", "Bob", inbox.RoleAgent, []string{"sales"})
	return e
}

func forEachWidget(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, startWidget(t, d, "", "")) })
	}
}

// wreq is one widget call: its answer's status, headers and body.
type wresp struct {
	status int
	header http.Header
	body   []byte
}

func (r wresp) decode(t *testing.T, into any) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// widgetCall sends a widget request with a visitor token and headers
// ("Origin", "X-Forwarded-For", ...).
func (e *env) widgetCall(method, path, token string, body any, headers ...string) wresp {
	e.t.Helper()
	var text string
	if body != nil {
		b, _ := json.Marshal(body)
		text = string(b)
	}
	status, h, b := e.raw(method, path, token, text, headers...)
	return wresp{status, h, b}
}

func (e *env) visitor(channel string, body map[string]string, headers ...string) string {
	e.t.Helper()
	if body == nil {
		body = map[string]string{}
	}
	r := e.widgetCall("POST", "/widget/v1/"+channel+"/visitors", "", body, headers...)
	var out struct{ Token string }
	r.decode(e.t, &out)
	if r.status != 201 || len(out.Token) < 40 {
		e.t.Fatalf("new visitor: %d %s", r.status, r.body)
	}
	return out.Token
}

type widgetMsg struct {
	ID        int64
	Direction string
	Text      string
	Author    string
	ClientID  string `json:"client_id"`
}

type widgetPosted struct {
	Conversation int64
	Message      widgetMsg
}

func (e *env) widgetPost(channel, token, clientID, text string, headers ...string) (wresp, widgetPosted) {
	e.t.Helper()
	r := e.widgetCall("POST", "/widget/v1/"+channel+"/messages", token, map[string]string{
		"client_id": clientID, "text": text, "page_url": "https://shop.example/pricing?plan=pro",
		"referrer": "https://search.example/?q=shop", "language": "fi-FI"}, headers...)
	var p widgetPosted
	if r.status < 300 {
		r.decode(e.t, &p)
	}
	return r, p
}

type widgetHistory struct {
	Conversation int64
	Items        []widgetMsg
}

func (e *env) widgetHistory(channel, token, query string) (int, widgetHistory) {
	e.t.Helper()
	r := e.widgetCall("GET", "/widget/v1/"+channel+"/messages"+query, token, nil)
	var h widgetHistory
	if r.status == 200 {
		r.decode(e.t, &h)
	}
	return r.status, h
}

func TestWidgetVisitorConversation(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		tok := e.visitor("site", nil, "Origin", shopOrigin)
		r, p := e.widgetPost("site", tok, "client-0001", "Hello, is the pro plan yearly?",
			"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/130", "Origin", shopOrigin)
		if r.status != 201 || p.Message.ID == 0 || p.Conversation == 0 || p.Message.ClientID != "client-0001" {
			t.Fatalf("post: %d %s", r.status, r.body)
		}
		// A resend with the same client id is the same message.
		r2, p2 := e.widgetPost("site", tok, "client-0001", "Hello, is the pro plan yearly?",
			"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/130")
		if r2.status != 200 || p2.Message.ID != p.Message.ID {
			t.Fatalf("resend: %d %s, first id %d", r2.status, r2.body, p.Message.ID)
		}
		// The journal shows it unassigned, titled #<number>, with the
		// visitor's page, referrer, browser and language on the contact.
		var pg page
		e.call("GET", "/api/v1/journal?channel=site", e.owner, nil, &pg)
		if len(pg.Items) != 1 || pg.Items[0].Status != "unassigned" || pg.Items[0].Title != "#"+strconv.FormatInt(p.Conversation, 10) {
			t.Fatalf("journal: %+v", pg.Items)
		}
		var conv struct {
			ID      int64
			Contact struct{ Meta map[string]string }
		}
		e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", pg.Items[0].ID), e.owner, nil, &conv)
		m := conv.Contact.Meta
		if m["page_url"] != "https://shop.example/pricing?plan=pro" || m["referrer"] != "https://search.example/?q=shop" ||
			m["language"] != "fi-FI" || !strings.Contains(m["browser"], "Chrome/130") {
			t.Fatalf("contact meta: %+v", m)
		}
		// Anna replies; the visitor reads the reply with her name.
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), e.anna,
			map[string]string{"text": "Hi! Yes, yearly or monthly."}, nil); st != 201 {
			t.Fatalf("reply: %d", st)
		}
		st, h := e.widgetHistory("site", tok, "")
		if st != 200 || h.Conversation != p.Conversation || len(h.Items) != 2 {
			t.Fatalf("history: %d %+v", st, h)
		}
		if in, out := h.Items[0], h.Items[1]; in.Direction != "in" || in.ClientID != "client-0001" ||
			out.Direction != "out" || out.Author != "Anna" || out.Text != "Hi! Yes, yearly or monthly." {
			t.Fatalf("history items: %+v", h.Items)
		}
		// Only the visitor's view of a message leaves: no delivery state, no ids of agents.
		r3 := e.widgetCall("GET", "/widget/v1/site/messages", tok, nil)
		for _, leak := range []string{"delivery", "author_id", "participants", "\"queue\""} {
			if bytes.Contains(r3.body, []byte(leak)) {
				t.Fatalf("history shows %s: %s", leak, r3.body)
			}
		}
		if st, h := e.widgetHistory("site", tok, fmt.Sprintf("?after=%d", h.Items[0].ID)); st != 200 || len(h.Items) != 1 {
			t.Fatalf("history after: %d %+v", st, h)
		}
	})
}

func TestWidgetVisitorsAreIsolated(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		alice := e.visitor("site", nil)
		mallory := e.visitor("site", nil)
		_, pa := e.widgetPost("site", alice, "alice-0001", "my address is Elm Street 1")
		num := strconv.FormatInt(pa.Conversation, 10)

		// Mallory sees her own (empty) conversation, never Alice's.
		if st, h := e.widgetHistory("site", mallory, ""); st != 200 || len(h.Items) != 0 || h.Conversation != 0 {
			t.Fatalf("mallory's history: %d %+v", st, h)
		}
		// Naming Alice's conversation is not found, to read or to write.
		if st, _ := e.widgetHistory("site", mallory, "?conversation="+num); st != 404 {
			t.Fatalf("mallory reads alice's conversation: %d", st)
		}
		r := e.widgetCall("POST", "/widget/v1/site/messages", mallory, map[string]string{
			"client_id": "mallory-001", "text": "injected", "conversation": num})
		if r.status != 404 {
			t.Fatalf("mallory posts into alice's conversation: %d %s", r.status, r.body)
		}
		// Alice may name her own.
		if st, h := e.widgetHistory("site", alice, "?conversation="+num); st != 200 || len(h.Items) != 1 {
			t.Fatalf("alice names her conversation: %d %+v", st, h)
		}
		// Reusing Alice's client id is Mallory's own message, not Alice's.
		_, pm := e.widgetPost("site", mallory, "alice-0001", "hello")
		if pm.Message.ID == pa.Message.ID || pm.Conversation == pa.Conversation {
			t.Fatalf("client id collision reached alice: %+v vs %+v", pm, pa)
		}
		// Tokens: unknown, and another channel's, are refused.
		if st, _ := e.widgetHistory("site", "not-a-token", ""); st != 401 {
			t.Fatalf("unknown token: %d", st)
		}
		if st, _ := e.widgetHistory("tight", alice, ""); st != 401 {
			t.Fatalf("site token on tight: %d", st)
		}
		if st, _ := e.widgetHistory("site", "", ""); st != 401 {
			t.Fatalf("no token: %d", st)
		}
		// Mallory's live feed carries none of Alice's events: the first
		// message it gets is Mallory's own, sent after Alice's.
		feed := e.widgetFeed("site", mallory, "")
		_, pa2 := e.widgetPost("site", alice, "alice-0002", "second secret")
		e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/typing", convID(t, e, pa.Conversation)), e.anna, nil, nil)
		_, pm2 := e.widgetPost("site", mallory, "mallory-002", "mine")
		ev := feed.next(t, "message")
		var got widgetMsg
		json.Unmarshal([]byte(ev.data), &got)
		if got.ID != pm2.Message.ID || got.ID == pa2.Message.ID {
			t.Fatalf("mallory's feed got %+v", got)
		}
	})
}

// convID finds the conversation id of a widget conversation number.
func convID(t *testing.T, e *env, number int64) int64 {
	t.Helper()
	var pg page
	e.call("GET", "/api/v1/journal?limit=200", e.owner, nil, &pg)
	for _, it := range pg.Items {
		if it.Number == number {
			return it.ID
		}
	}
	t.Fatalf("no conversation #%d", number)
	return 0
}

func TestWidgetIdentityVerification(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		good := widget.SignUser(identitySecret, "user-42")
		phone := e.visitor("site", map[string]string{"user_id": "user-42", "user_hash": good})
		laptop := e.visitor("site", map[string]string{"user_id": "user-42", "user_hash": good})
		_, p := e.widgetPost("site", phone, "phone-0001", "written on my phone")
		// The conversation follows the user to the other device.
		st, h := e.widgetHistory("site", laptop, "")
		if st != 200 || h.Conversation != p.Conversation || len(h.Items) != 1 || h.Items[0].Text != "written on my phone" {
			t.Fatalf("laptop history: %d %+v", st, h)
		}
		// A wrong hash, a hash for another user, or no hash: refused.
		for _, body := range []map[string]string{
			{"user_id": "user-42", "user_hash": strings.Repeat("0", 64)},
			{"user_id": "user-43", "user_hash": good},
			{"user_id": "user-42", "user_hash": "zz"},
			{"user_id": "user-42"},
		} {
			r := e.widgetCall("POST", "/widget/v1/site/visitors", "", body)
			if r.status != 403 {
				t.Errorf("visitor %v: %d %s", body, r.status, r.body)
			}
		}
		// A channel without an identity secret cannot verify anyone.
		r := e.widgetCall("POST", "/widget/v1/tight/visitors", "", map[string]string{"user_id": "user-42", "user_hash": good})
		if r.status != 400 {
			t.Fatalf("identity on tight: %d %s", r.status, r.body)
		}
	})
}

func TestWidgetOriginsAndCORS(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		// An allowed site: CORS headers name it.
		r := e.widgetCall("POST", "/widget/v1/site/visitors", "", map[string]string{}, "Origin", shopOrigin)
		if r.status != 201 || r.header.Get("Access-Control-Allow-Origin") != shopOrigin {
			t.Fatalf("allowed origin: %d %v", r.status, r.header)
		}
		pre := e.widgetCall("OPTIONS", "/widget/v1/site/messages", "", nil, "Origin", shopOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
		if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != shopOrigin ||
			!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight: %d %v", pre.status, pre.header)
		}
		// Any other site is refused, with no CORS grant, on every route.
		for _, c := range []struct{ method, path string }{
			{"POST", "/widget/v1/site/visitors"}, {"OPTIONS", "/widget/v1/site/messages"},
			{"GET", "/widget/v1/site/settings"}, {"GET", "/widget/v1/site/events"}, {"GET", "/widget/v1/site/messages"},
			{"GET", "/widget/v1/site/config"}, {"POST", "/widget/v1/site/contact"},
		} {
			var body any
			if c.method == "POST" {
				body = map[string]string{}
			}
			r := e.widgetCall(c.method, c.path, "", body, "Origin", "https://evil.example")
			if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s %s from evil.example: %d %v", c.method, c.path, r.status, r.header)
			}
		}
		// The other widget routes (the mode, the contact form) grant CORS too.
		if r := e.widgetCall("GET", "/widget/v1/site/config", "", nil, "Origin", shopOrigin); r.status != 200 ||
			r.header.Get("Access-Control-Allow-Origin") != shopOrigin {
			t.Fatalf("config from the shop: %d %v", r.status, r.header)
		}
		// A look-alike origin is another origin.
		if r := e.widgetCall("GET", "/widget/v1/site/settings", "", nil, "Origin", "https://shop.example.evil.example"); r.status != 403 {
			t.Fatalf("look-alike origin: %d", r.status)
		}
		// inboxd's own pages are always allowed.
		if r := e.widgetCall("GET", "/widget/v1/tight/settings", "", nil, "Origin", e.base); r.status != 200 {
			t.Fatalf("own origin: %d %s", r.status, r.body)
		}
		// Not a widget channel: not found.
		if r := e.widgetCall("GET", "/widget/v1/nope/settings", "", nil); r.status != 404 {
			t.Fatalf("unknown channel: %d", r.status)
		}
	})
}

func TestWidgetRateLimits(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		// Per address: 8 a minute with a burst of 2.
		var limited wresp
		for i := 0; i < 10; i++ {
			r := e.widgetCall("GET", "/widget/v1/tight/settings", "", nil, "X-Forwarded-For", "10.0.0.1")
			if r.status == 429 {
				limited = r
				break
			}
			if r.status != 200 {
				t.Fatalf("settings: %d", r.status)
			}
		}
		if limited.status != 429 {
			t.Fatal("no 429 after 10 requests from one address")
		}
		if ra, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Fatalf("Retry-After = %q", limited.header.Get("Retry-After"))
		}
		var eb struct{ Error struct{ Code string } }
		limited.decode(t, &eb)
		if eb.Error.Code != "rate_limited" {
			t.Fatalf("429 body: %s", limited.body)
		}
		// Another address is not held back by the first.
		if r := e.widgetCall("GET", "/widget/v1/tight/settings", "", nil, "X-Forwarded-For", "10.0.0.2"); r.status != 200 {
			t.Fatalf("other address: %d", r.status)
		}
		// Per visitor: 4 messages a minute, burst 1, whatever its address.
		tok := e.visitor("tight", nil, "X-Forwarded-For", "10.1.0.1")
		if r, _ := e.widgetPost("tight", tok, "tight-0001", "one", "X-Forwarded-For", "10.1.0.2"); r.status != 201 {
			t.Fatalf("first message: %d %s", r.status, r.body)
		}
		r, _ := e.widgetPost("tight", tok, "tight-0002", "two", "X-Forwarded-For", "10.1.0.3")
		if r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("second message at once: %d %v", r.status, r.header)
		}
	})
}

func TestWidgetMessageLimits(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		tok := e.visitor("site", nil)
		for _, c := range []struct {
			clientID, text string
			status         int
		}{
			{"limit-0001", strings.Repeat("ä", 4001), 413}, // over the default 4000 characters
			{"limit-0002", strings.Repeat("ä", 4000), 201},
			{"limit-0003", "   ", 400},
			{"bad id!", "hello", 400},
			{"", "hello", 400},
			{"limit-0004", `<img src=x onerror=alert(1)>`, 201},
		} {
			if r, _ := e.widgetPost("site", tok, c.clientID, c.text); r.status != c.status {
				t.Errorf("post %q (%d chars): %d %s, want %d", c.clientID, len(c.text), r.status, r.body, c.status)
			}
		}
		// Text is stored and returned as text, never altered into HTML.
		_, h := e.widgetHistory("site", tok, "")
		if last := h.Items[len(h.Items)-1]; last.Text != `<img src=x onerror=alert(1)>` {
			t.Fatalf("stored text: %q", last.Text)
		}
		// The tight channel's own limit is 50 characters.
		tt := e.visitor("tight", nil, "X-Forwarded-For", "10.2.0.1")
		if r, _ := e.widgetPost("tight", tt, "tight-0100", strings.Repeat("x", 51), "X-Forwarded-For", "10.2.0.2"); r.status != 413 {
			t.Fatalf("tight limit: %d", r.status)
		}
		// Bodies that are not JSON are refused.
		req, _ := http.NewRequest("POST", e.base+"/widget/v1/site/messages", strings.NewReader("text=hi"))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 415 {
			t.Fatalf("form body: %d", resp.StatusCode)
		}
	})
}

// sseFeed reads a widget live feed.
type sseFeed struct {
	events chan sseEvent
	cancel context.CancelFunc
}

type sseEvent struct{ id, name, data string }

func (e *env) widgetFeed(channel, token, lastEventID string) *sseFeed {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	u := e.base + "/widget/v1/" + channel + "/events"
	if token != "" {
		u += "?token=" + token
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		e.t.Fatalf("feed: %d", resp.StatusCode)
	}
	f := &sseFeed{events: make(chan sseEvent, 100), cancel: cancel}
	e.t.Cleanup(func() { cancel(); resp.Body.Close() })
	go func() {
		defer close(f.events)
		readSSE(bufio.NewReader(resp.Body), f.events)
	}()
	// Wait for the feed to be subscribed: its first event is "ready".
	if ev := f.next(e.t, "ready"); ev.name != "ready" {
		e.t.Fatalf("first event %+v", ev)
	}
	return f
}

// next returns the next event named name, skipping others.
func (f *sseFeed) next(t *testing.T, name string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				t.Fatalf("feed ended waiting for %q", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event", name)
		}
	}
}

func TestWidgetLiveFeed(t *testing.T) {
	forEachWidget(t, func(t *testing.T, e *env) {
		tok := e.visitor("site", nil)
		// Before the first message the feed follows no conversation.
		anon := e.widgetFeed("site", "", "")
		anon.cancel()
		_, p := e.widgetPost("site", tok, "live-00001", "hi")
		id := convID(t, e, p.Conversation)
		feed := e.widgetFeed("site", tok, "")
		// Agents' typing and replies reach the visitor, with the agent's name.
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/typing", id), e.anna, nil, nil); st != 204 {
			t.Fatalf("typing: %d", st)
		}
		if ev := feed.next(t, "typing"); ev.data != `{"name":"Anna"}` || ev.id != "" {
			t.Fatalf("typing event: %+v", ev)
		}
		e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), e.anna, map[string]string{"text": "Hello from Anna"}, nil)
		ev := feed.next(t, "message")
		var m widgetMsg
		json.Unmarshal([]byte(ev.data), &m)
		if m.Direction != "out" || m.Author != "Anna" || m.Text != "Hello from Anna" || ev.id == "" {
			t.Fatalf("reply event: %+v", ev)
		}
		for _, leak := range []string{"delivery", "conversation_id", "author_id", `"id":0`} {
			if strings.Contains(ev.data, leak) {
				t.Fatalf("event shows %s: %s", leak, ev.data)
			}
		}
		// The visitor's typing is allowed (and limited like messages).
		if r := e.widgetCall("POST", "/widget/v1/site/typing", tok, map[string]string{}); r.status != 204 {
			t.Fatalf("visitor typing: %d %s", r.status, r.body)
		}
		// An agent who may not see the conversation cannot type into it.
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/typing", id), e.bob, nil, nil); st != 404 {
			t.Fatalf("bob typing: %d", st)
		}
		// Reconnecting after the reply's event id replays what came later.
		feed.cancel()
		e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), e.anna, map[string]string{"text": "missed this"}, nil)
		// (The reply's delivery update comes first: the widget overwrites
		// a message it has by id.)
		again := e.widgetFeed("site", tok, ev.id)
		for m.Text != "missed this" {
			ev2 := again.next(t, "message")
			json.Unmarshal([]byte(ev2.data), &m)
			if m.Text != "missed this" && m.Text != "Hello from Anna" {
				t.Fatalf("replay after %s: %+v", ev.id, ev2)
			}
		}
	})
}

func TestWidgetAssets(t *testing.T) {
	e := startWidget(t, store.SQLite, "", "")
	total := 0
	for _, name := range []string{"/widget.js", "/widget.css"} {
		r := e.widgetCall("GET", name, "", nil, "Accept-Encoding", "gzip")
		if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %v", name, r.status, r.header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if len(plain) < 1000 {
			t.Fatalf("%s: %d bytes", name, len(plain))
		}
		total += len(r.body)
	}
	if total >= 30<<10 {
		t.Fatalf("widget is %d bytes gzipped, over 30 KB", total)
	}
	t.Logf("widget.js + widget.css: %d bytes gzipped", total)
	if r := e.widgetCall("GET", "/widget.js", "", nil); !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") ||
		r.header.Get("Content-Encoding") != "" || !bytes.Contains(r.body, []byte("attachShadow")) {
		t.Fatalf("plain widget.js: %v", r.header)
	}
	// The demo page: a strict policy (no inline script), and the channel id escaped.
	r := e.widgetCall("GET", "/widget/v1/site/demo", "", nil)
	csp := r.header.Get("Content-Security-Policy")
	if r.status != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") ||
		!bytes.Contains(r.body, []byte(`data-channel="site"`)) {
		t.Fatalf("demo: %d %q %s", r.status, csp, r.body)
	}
	if r := e.widgetCall("GET", "/widget/v1/%3Cscript%3E/demo", "", nil); r.status != 404 || bytes.Contains(r.body, []byte("<script>")) {
		t.Fatalf("demo of unknown channel: %d %s", r.status, r.body)
	}
	// Settings: the visitor's language, the channel's colours.
	var s widget.Settings
	r = e.widgetCall("GET", "/widget/v1/site/settings?lang=fi-FI,en", "", nil)
	r.decode(t, &s)
	if s.Lang != "fi" || s.Strings["launcher"] != "Avaa chat" || s.Position != "right" || !s.Identity {
		t.Fatalf("settings: %+v", s)
	}
}

// readSSE sends the named events read from r to out until r ends.
func readSSE(r *bufio.Reader, out chan<- sseEvent) {
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch line = strings.TrimSuffix(line, "\n"); {
		case line == "":
			if ev.name != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}
