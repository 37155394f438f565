package daemon_test

// The live feeds' hardening: a replay costs what it returns, a feed ends
// with its credential, and a user or visitor holds a bounded number.

import (
	"bufio"
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

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// startFeeds starts a daemon with feed limits (a YAML mapping, "" for the
// defaults); prepare, if set, runs on the migrated database first.
func startFeeds(t *testing.T, d store.Dialect, limits string, prepare func(st *store.Store)) *env {
	t.Helper()
	url := storetest.URL(t, d)
	if prepare != nil {
		st, err := store.Open(context.Background(), url, "", slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		prepare(st)
		st.Close()
	}
	if limits == "" {
		limits = "{}"
	}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
limits: %s
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q}
  - {id: site, kind: widget, name: Website, queue: support, rate_limits: {ip_per_minute: 100000, visitor_per_minute: 100000}}
`, url, limits, secret)
	e := startYAML(t, yaml, daemon.Options{})
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	e.bob = e.addUser("bob@example.com", "Bob", inbox.RoleAgent, []string{"support"})
	return e
}

// liveFeed is an open SSE response read in the background.
type liveFeed struct {
	status int
	body   []byte // the error body when status is not 200
	header http.Header
	events chan sseEvent
	ended  chan struct{} // closed when the server ends the stream
	cancel context.CancelFunc
}

// openFeed opens path with a bearer token (or, with cookie, the session
// cookie) and, if lastID is not "", Last-Event-ID.
func (e *env) openFeed(path, token string, cookie bool, lastID string) *liveFeed {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
	switch {
	case token != "" && cookie:
		req.Header.Set("Cookie", "inboxd_session="+token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("GET %s: %v", path, err)
	}
	f := &liveFeed{status: resp.StatusCode, header: resp.Header, events: make(chan sseEvent, 1000), ended: make(chan struct{}), cancel: cancel}
	e.t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != 200 {
		f.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		close(f.events)
		close(f.ended)
		return f
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry: ") {
		e.t.Fatalf("GET %s: first line %q %v", path, line, err)
	}
	go func() {
		defer close(f.ended)
		defer close(f.events)
		readSSE(br, f.events)
	}()
	return f
}

// next returns the feed's next event.
func (f *liveFeed) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-f.events:
		if !ok {
			t.Fatal("the feed ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return sseEvent{}
}

// endsWithin fails unless the server ends the stream within d.
func (f *liveFeed) endsWithin(t *testing.T, what string, d time.Duration) {
	t.Helper()
	select {
	case <-f.ended:
	case <-time.After(d):
		t.Fatalf("%s: the feed is still open after %s", what, d)
	}
}

// open reports whether the server has not ended the stream.
func (f *liveFeed) open() bool {
	select {
	case <-f.ended:
		return false
	default:
		return true
	}
}

// errorCode is the code of a refused feed's error body.
func (f *liveFeed) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(f.body, &b); err != nil {
		t.Fatalf("error body %q: %v", f.body, err)
	}
	return b.Error.Code
}

// TestFeedsEndWithTheirCredential: a feed opened with a session or an API
// token closes within 2 s of logout, a password change (which ends the
// other sessions) or the token's deletion; feeds of credentials that
// stay valid stay open.
func TestFeedsEndWithTheirCredential(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startFeeds(t, d, "", nil)
			r := e.send("crm", "m1", "c1", "hello")
			keep := e.login("anna@example.com", "password-Anna")
			kept := e.openFeed("/api/v1/me/events", keep, false, "")

			// Logout ends every feed of the session, however opened.
			s1 := e.login("anna@example.com", "password-Anna")
			feeds := []*liveFeed{
				e.openFeed("/api/v1/me/events", s1, true, ""),
				e.openFeed("/api/v1/me/notifications/events", s1, true, ""),
				e.openFeed(fmt.Sprintf("/api/v1/conversations/%d/events", r.ConversationID), s1, false, "0"),
			}
			for _, f := range feeds {
				if f.status != 200 {
					t.Fatalf("feed: %d %s", f.status, f.body)
				}
			}
			if st := e.call("POST", "/api/v1/auth/logout", s1, nil, nil); st != 204 {
				t.Fatalf("logout: %d", st)
			}
			for _, f := range feeds {
				f.endsWithin(t, "after logout", 2*time.Second)
			}

			// A password change ends the other sessions, and their feeds.
			s2 := e.login("anna@example.com", "password-Anna")
			other := e.openFeed("/api/v1/me/events", s2, true, "")
			notes := e.openFeed("/api/v1/me/notifications/events", s2, false, "")
			if st := e.call("PUT", "/api/v1/me/password", keep, map[string]string{
				"current_password": "password-Anna", "new_password": "a-new-password-for-anna-42"}, nil); st != 204 {
				t.Fatalf("password: %d", st)
			}
			other.endsWithin(t, "after a password change", 2*time.Second)
			notes.endsWithin(t, "after a password change", 2*time.Second)

			// Deleting an API token ends its feeds.
			var tok struct{ Token string }
			if st := e.call("POST", "/api/v1/me/tokens", keep, map[string]string{"name": "script"}, &tok); st != 201 {
				t.Fatalf("token: %d", st)
			}
			var ts struct{ Items []struct{ ID int64 } }
			if st := e.call("GET", "/api/v1/me/tokens", keep, nil, &ts); st != 200 || len(ts.Items) != 1 {
				t.Fatalf("tokens: %d %+v", st, ts)
			}
			scripted := e.openFeed("/api/v1/me/events", tok.Token, false, "")
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", ts.Items[0].ID), keep, nil, nil); st != 204 {
				t.Fatalf("delete token: %d", st)
			}
			scripted.endsWithin(t, "after the token's deletion", 2*time.Second)

			// The session that made the changes, and other users', stay.
			bobs := e.openFeed("/api/v1/me/events", e.bob, false, "")
			if st := e.call("POST", "/api/v1/auth/logout", e.login("bob@example.com", "password-Bob"), nil, nil); st != 204 {
				t.Fatalf("bob's logout: %d", st)
			}
			time.Sleep(300 * time.Millisecond)
			if !kept.open() || !bobs.open() {
				t.Fatalf("feeds of valid credentials closed: anna's %v, bob's %v", kept.open(), bobs.open())
			}
			e.send("crm", "m2", "c2", "still there")
			if ev := kept.next(t); ev.name != "conversation.created" {
				t.Fatalf("kept feed: %+v", ev)
			}
		})
	}
}

// TestFeedCaps: a user holds at most limits.feeds_per_user feeds of every
// kind together, a visitor limits.feeds_per_visitor, an anonymous widget
// page's address limits.feeds_per_user; beyond, 429 rate_limited before
// any stream starts; a closed feed frees its slot.
func TestFeedCaps(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startFeeds(t, d, "{feeds_per_user: 3, feeds_per_visitor: 2}", nil)
			r := e.send("crm", "m1", "c1", "hello")
			paths := []string{"/api/v1/me/events", "/api/v1/me/notifications/events",
				fmt.Sprintf("/api/v1/conversations/%d/events", r.ConversationID)}
			var annas []*liveFeed
			for _, p := range paths {
				f := e.openFeed(p, e.anna, false, "")
				if f.status != 200 {
					t.Fatalf("%s: %d %s", p, f.status, f.body)
				}
				annas = append(annas, f)
			}
			for _, p := range paths {
				if f := e.openFeed(p, e.anna, false, ""); f.status != 429 || f.errorCode(t) != "rate_limited" || f.header.Get("Retry-After") == "" {
					t.Fatalf("feed beyond the cap, %s: %d %s", p, f.status, f.body)
				}
			}
			// A user's cap is its own.
			if f := e.openFeed("/api/v1/me/events", e.bob, false, ""); f.status != 200 {
				t.Fatalf("bob: %d", f.status)
			}
			// Closing a feed (the client goes) frees its slot.
			annas[0].cancel()
			waitFor(t, "a freed slot", func() bool {
				f := e.openFeed("/api/v1/me/events", e.anna, false, "")
				if f.status == 200 {
					return true
				}
				time.Sleep(200 * time.Millisecond)
				return false
			})
			// A feed the server closes (logout) frees its slot as well.
			s := e.login("anna@example.com", "password-Anna")
			annas[1].cancel()
			waitFor(t, "a freed slot", func() bool {
				f := e.openFeed("/api/v1/me/events", s, false, "")
				if f.status == 200 {
					return true
				}
				time.Sleep(200 * time.Millisecond)
				return false
			})
			if st := e.call("POST", "/api/v1/auth/logout", s, nil, nil); st != 204 {
				t.Fatalf("logout: %d", st)
			}
			if f := e.openFeed("/api/v1/me/events", e.anna, false, ""); f.status != 200 {
				t.Fatalf("after logout freed a slot: %d %s", f.status, f.body)
			}

			// Visitors: per visitor.
			v1, v2 := e.visitor("site", nil), e.visitor("site", nil)
			for range 2 {
				if f := e.openFeed("/widget/v1/site/events?token="+v1, "", false, ""); f.status != 200 {
					t.Fatalf("visitor feed: %d %s", f.status, f.body)
				}
			}
			if f := e.openFeed("/widget/v1/site/events?token="+v1, "", false, ""); f.status != 429 || f.errorCode(t) != "rate_limited" {
				t.Fatalf("visitor beyond the cap: %d %s", f.status, f.body)
			}
			if f := e.openFeed("/widget/v1/site/events?token="+v2, "", false, ""); f.status != 200 {
				t.Fatalf("another visitor: %d %s", f.status, f.body)
			}
			// Anonymous pages: per address, with the per-user cap.
			for range 3 {
				if f := e.openFeed("/widget/v1/site/events", "", false, ""); f.status != 200 {
					t.Fatalf("anonymous feed: %d %s", f.status, f.body)
				}
			}
			if f := e.openFeed("/widget/v1/site/events", "", false, ""); f.status != 429 || f.errorCode(t) != "rate_limited" {
				t.Fatalf("anonymous beyond the cap: %d %s", f.status, f.body)
			}
		})
	}
}

// setOverride changes the global switch (a mode event for every widget).
func (e *env) setOverride(v string) {
	e.t.Helper()
	if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": v}, nil); st != 200 {
		e.t.Fatalf("override %s: %d", v, st)
	}
}

// untilAfter returns the events of f up to and including the first whose
// id is after id.
func (f *liveFeed) untilAfter(t *testing.T, id int64) []sseEvent {
	t.Helper()
	var out []sseEvent
	for {
		ev := f.next(t)
		out = append(out, ev)
		if n, _ := strconv.ParseInt(ev.id, 10, 64); n > id {
			return out
		}
	}
}

// TestWidgetFeedResumesWithoutReplay: an anonymous widget page resuming
// from event 0 reads no stored event: it gets one mode notice (no id)
// instead of every stored mode change; a visitor gets the notice and its
// own conversation's messages only; a claimed empty token is refused.
func TestWidgetFeedResumesWithoutReplay(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startFeeds(t, d, "", nil)
			v := e.visitor("site", nil)
			_, p := e.widgetPost("site", v, "resume-0001", "my question")
			e.widgetPost("site", e.visitor("site", nil), "other-00001", "someone else's")
			e.send("crm", "m1", "c1", "another channel")
			for _, o := range []string{"open", "closed", "auto"} {
				e.setOverride(o)
			}
			newest, err := e.d.Store.LastEventID(context.Background())
			if err != nil || newest < 6 {
				t.Fatalf("events: %d %v", newest, err)
			}

			anon := e.openFeed("/widget/v1/site/events", "", false, "0")
			if ev := anon.next(t); ev.name != "ready" {
				t.Fatalf("first event: %+v", ev)
			}
			mine := e.openFeed("/widget/v1/site/events?token="+v, "", false, "0")
			if ev := mine.next(t); ev.name != "ready" || ev.data != fmt.Sprintf(`{"conversation":%d}`, p.Conversation) {
				t.Fatalf("first event: %+v", ev)
			}
			e.setOverride("open") // a live mode event after the replays
			got := anon.untilAfter(t, newest)
			if len(got) != 2 || got[0].name != "mode" || got[0].id != "" || got[1].name != "mode" {
				t.Fatalf("anonymous resume from 0: %+v", got)
			}
			got = mine.untilAfter(t, newest)
			var m widgetMsg
			if len(got) != 3 || got[0].name != "mode" || got[0].id != "" || got[1].name != "message" || got[2].name != "mode" {
				t.Fatalf("visitor resume from 0: %+v", got)
			}
			if json.Unmarshal([]byte(got[1].data), &m); m.Text != "my question" {
				t.Fatalf("visitor replay: %+v", got[1])
			}
			// A claimed token must be a valid one.
			for _, q := range []string{"?token=", "?token=nope"} {
				if f := e.openFeed("/widget/v1/site/events"+q, "", false, "0"); f.status != 401 {
					t.Fatalf("%s: %d %s", q, f.status, f.body)
				}
			}
		})
	}
}

// TestStaffFeedReloadsBeyondReplayCap: a staff feed resuming further back
// than the replay cap (10,000 events) gets one reload event carrying the
// newest id, then live events, instead of a scan; within the cap it gets
// the events it missed.
func TestStaffFeedReloadsBeyondReplayCap(t *testing.T) {
	const stored = 10_050
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startFeeds(t, d, "", func(st *store.Store) {
				if err := st.DB().Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
					INSERT INTO events (kind, conversation_id, queue, status, participants, payload, created_at)
					SELECT 'queue.opened', 0, 'support', '', '', '{}', ? FROM n`, stored, time.Now().UTC()).Error; err != nil {
					t.Fatal(err)
				}
			})
			newest, err := e.d.Store.LastEventID(context.Background())
			if err != nil || newest < stored {
				t.Fatalf("events: %d %v", newest, err)
			}
			far := e.openFeed("/api/v1/me/events", e.owner, false, "0")
			if ev := far.next(t); ev.name != "reload" || ev.data != "{}" || ev.id != strconv.FormatInt(newest, 10) {
				t.Fatalf("resume from 0: %+v", ev)
			}
			near := e.openFeed("/api/v1/journal/events", e.owner, false, strconv.FormatInt(newest-3, 10))
			for i := int64(2); i >= 0; i-- {
				if ev := near.next(t); ev.name != "queue.opened" || ev.id != strconv.FormatInt(newest-i, 10) {
					t.Fatalf("resume from %d: %+v", newest-3, ev)
				}
			}
			e.send("crm", "m1", "c1", "live")
			for _, f := range []*liveFeed{far, near} {
				if ev := f.next(t); ev.name != "conversation.created" {
					t.Fatalf("live after the resume: %+v", ev)
				}
			}
		})
	}
}

// TestFeedCapDefault: by default a user holds at most 32 feeds.
func TestFeedCapDefault(t *testing.T) {
	e := startFeeds(t, store.SQLite, "", nil)
	for i := range 32 {
		if f := e.openFeed("/api/v1/me/events", e.anna, false, ""); f.status != 200 {
			t.Fatalf("feed %d: %d %s", i+1, f.status, f.body)
		}
	}
	if f := e.openFeed("/api/v1/me/events", e.anna, false, ""); f.status != 429 || f.errorCode(t) != "rate_limited" {
		t.Fatalf("feed 33: %d %s", f.status, f.body)
	}
}

// TestNotificationFeedReplayIsCapped: a notifications feed resuming more
// than 500 notifications back is told to reload, not sent them all; within
// the cap it gets what it missed.
func TestNotificationFeedReplayIsCapped(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e := startFeeds(t, d, "", nil)
		db := e.d.Store.DB()
		var owner int64
		if err := db.Raw(`SELECT id FROM users WHERE email = 'owner@example.com'`).Scan(&owner).Error; err != nil || owner == 0 {
			t.Fatalf("owner: %d %v", owner, err)
		}
		insert := func(n int) {
			if err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO notifications (user_id, kind, conversation_id, queue, payload, created_at)
				SELECT ?, 'new_chat', 0, 'support', '{}', ? FROM n`, n, owner, time.Now().UTC()).Error; err != nil {
				t.Fatal(err)
			}
		}
		insert(3)
		near := e.openFeed("/api/v1/me/notifications/events", e.owner, false, "0")
		for i := 0; i < 3; i++ {
			if ev := near.next(t); ev.name != "notification" {
				t.Fatalf("replay %d within the cap: %+v", i, ev)
			}
		}
		insert(600)
		far := e.openFeed("/api/v1/me/notifications/events", e.owner, false, "0")
		if ev := far.next(t); ev.name != "reload" || ev.id != "" {
			t.Fatalf("603 behind: %+v, want reload without an id", ev)
		}
		far.endsWithin(t, "the capped replay", 2*time.Second)
	})
}
