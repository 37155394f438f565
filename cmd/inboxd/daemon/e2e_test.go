package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

const secret = "crm-secret-0123456789"

// testClock is the wall clock until a test freezes it.
type testClock struct {
	mu     sync.Mutex
	frozen time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// freeze stops the clock (throttles and lockouts then cannot expire
// while a slow machine runs the test).
func (c *testClock) freeze() {
	now := c.Now()
	c.mu.Lock()
	c.frozen = now
	c.mu.Unlock()
}

// env is a daemon started in-process on 127.0.0.1:0 with a fresh database.
type env struct {
	clock    *testClock
	t        *testing.T
	d        *daemon.Daemon
	base     string
	owner    string // tokens
	anna     string
	bob      string
	sales    string
	callback *callbackServer
}

type callbackServer struct {
	*httptest.Server
	mu       sync.Mutex
	failures int // answer 500 to this many requests first
	got      []callbackHit
}

type callbackHit struct {
	body      []byte
	signature string
	delivery  string
	status    int
}

func newCallback() *callbackServer {
	cb := &callbackServer{}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cb.mu.Lock()
		defer cb.mu.Unlock()
		hit := callbackHit{body: b, signature: r.Header.Get("X-Inboxd-Signature"), delivery: r.Header.Get("X-Inboxd-Delivery"), status: 200}
		if cb.failures > 0 {
			cb.failures--
			hit.status = 500
		}
		cb.got = append(cb.got, hit)
		w.WriteHeader(hit.status)
		if hit.status == 200 {
			fmt.Fprintf(w, `{"id":"crm-%d"}`, len(cb.got))
		}
	}))
	return cb
}

func (cb *callbackServer) hits() []callbackHit {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]callbackHit(nil), cb.got...)
}

func start(t *testing.T, d store.Dialect) *env {
	t.Helper()
	cb := newCallback()
	t.Cleanup(cb.Close)
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
outbox: {base_delay: 50ms, max_delay: 200ms, max_attempts: 5}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %q}
  - {id: site, kind: widget, name: Website, queue: support}
`, storetest.URL(t, d), secret, cb.URL, secret)
	e := startYAML(t, yaml, daemon.Options{})
	e.callback = cb
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	e.bob = e.addUser("bob@example.com", "Bob", inbox.RoleAgent, []string{"support"})
	e.sales = e.addUser("sam@example.com", "Sam", inbox.RoleAgent, []string{"sales"})
	return e
}

// startYAML starts a daemon on a YAML config, stopped when the test ends,
// and logs its owner (owner@example.com, owner-password) in. Options left
// zero get the tests' defaults: logs discarded, bcrypt.MinCost, a 50 ms
// outbox poll; the clock is always a testClock (real time until frozen).
func startYAML(t *testing.T, yaml string, opts daemon.Options) *env {
	t.Helper()
	cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Notice == nil {
		opts.Notice = io.Discard
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.MinCost
	}
	if opts.OutboxPoll == 0 {
		opts.OutboxPoll = 50 * time.Millisecond
	}
	clock := &testClock{}
	opts.Clock = clock
	dm, err := daemon.Start(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	e := &env{t: t, d: dm, base: "http://" + dm.Addr, clock: clock}
	e.owner = e.login("owner@example.com", "owner-password")
	return e
}

func (e *env) addUser(email, name string, role inbox.Role, queues []string) string {
	h, _ := bcrypt.GenerateFromPassword([]byte("password-"+name), bcrypt.MinCost)
	u := &inbox.User{Email: email, Name: name, Role: role, Queues: queues, CreatedAt: time.Now().UTC()}
	if err := e.d.Store.CreateUser(context.Background(), u, string(h)); err != nil {
		e.t.Fatal(err)
	}
	return e.login(email, "password-"+name)
}

func (e *env) login(email, password string) string {
	var out struct{ Token string }
	if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}, &out); st != 200 {
		e.t.Fatalf("login %s: %d", email, st)
	}
	return out.Token
}

// call sends a JSON request and decodes the answer into out (if not nil).
func (e *env) call(method, path, token string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

type hookResult struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	Duplicate      bool  `json:"duplicate"`
}

// post sends a raw webhook body signed with sig ("" = sign correctly).
func (e *env) post(channel string, body []byte, sig string) (int, hookResult, string) {
	e.t.Helper()
	if sig == "" {
		sig = "sha256=" + hooksig.Sign([]byte(secret), body)
	}
	req, _ := http.NewRequest("POST", e.base+"/hooks/webhook/"+channel, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r hookResult
	json.Unmarshal(b, &r)
	return resp.StatusCode, r, string(b)
}

func (e *env) send(channel, msgID, contact, text string) hookResult {
	e.t.Helper()
	body := fmt.Sprintf(`{"message_id":%q,"contact":{"id":%q,"name":"Customer %s"},"text":%q,"sent_at":"2026-11-21T10:00:00Z"}`, msgID, contact, contact, text)
	st, r, raw := e.post(channel, []byte(body), "")
	if st != http.StatusAccepted {
		e.t.Fatalf("webhook %s: %d %s", msgID, st, raw)
	}
	return r
}

type item struct {
	ID           int64
	Number       int64
	Title        string
	Status       string
	Preview      string
	Unread       bool
	Participants []struct {
		ID   int64
		Name string
	}
	Channel struct{ ID, Kind, Name string }
}

type page struct {
	Items      []item
	NextCursor string `json:"next_cursor"`
}

func (e *env) conversation(token string, id int64) (int, item) {
	var it item
	st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", id), token, nil, &it)
	return st, it
}

func forEach(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, start(t, d)) })
	}
}

func TestEndToEndLifecycle(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		r := e.send("crm", "m1", "c1", "Hello, my order is late")
		var p page
		if st := e.call("GET", "/api/v1/journal", e.owner, nil, &p); st != 200 || len(p.Items) != 1 {
			t.Fatalf("journal: %d %+v", st, p)
		}
		if it := p.Items[0]; it.Status != "unassigned" || it.Title != "Customer c1" || it.Channel.Kind != "webhook" || !it.Unread {
			t.Fatalf("journal item: %+v", it)
		}
		// Anna's reply takes it.
		reply := map[string]string{"text": "Hi, Anna here. Let me check."}
		var msg struct {
			ID       int64
			Delivery string
			Author   struct{ Name string }
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.anna, reply, &msg); st != 201 || msg.Author.Name != "Anna" {
			t.Fatalf("reply: %d %+v", st, msg)
		}
		_, it := e.conversation(e.owner, r.ConversationID)
		if it.Status != "active" || len(it.Participants) != 1 || it.Participants[0].Name != "Anna" {
			t.Fatalf("after reply: %+v", it)
		}
		// Bob: 409 until he joins.
		path := fmt.Sprintf("/api/v1/conversations/%d", r.ConversationID)
		var errBody struct {
			Error struct{ Code, Message string }
		}
		if st := e.call("POST", path+"/messages", e.bob, reply, &errBody); st != 409 || errBody.Error.Code != "conflict" {
			t.Fatalf("bob's reply: %d %+v", st, errBody)
		}
		if st := e.call("POST", path+"/join", e.bob, nil, &it); st != 200 || len(it.Participants) != 2 {
			t.Fatalf("join: %d %+v", st, it)
		}
		if st := e.call("POST", path+"/messages", e.bob, map[string]string{"text": "Bob too"}, nil); st != 201 {
			t.Fatalf("bob after join: %d", st)
		}
		if st := e.call("POST", path+"/close", e.anna, nil, &it); st != 200 || it.Status != "inactive" {
			t.Fatalf("close: %d %+v", st, it)
		}
		// The customer writes again: the same conversation reopens.
		r2 := e.send("crm", "m2", "c1", "Still waiting")
		if r2.ConversationID != r.ConversationID {
			t.Fatalf("reopen created conversation %d", r2.ConversationID)
		}
		if _, it = e.conversation(e.owner, r.ConversationID); it.Status == "inactive" {
			t.Fatalf("not reopened: %+v", it)
		}
		// Messages, oldest first, with replies delivered to the callback.
		var ms struct {
			Items []struct {
				Direction, Text string
				Delivery        *string
			}
		}
		e.call("GET", path+"/messages", e.owner, nil, &ms)
		if len(ms.Items) != 4 || ms.Items[0].Direction != "in" || ms.Items[1].Direction != "out" || ms.Items[3].Text != "Still waiting" {
			t.Fatalf("messages: %+v", ms.Items)
		}
		// Activity log.
		var acts struct{ Items []struct{ Kind string } }
		e.call("GET", "/api/v1/activity?queue=support", e.owner, nil, &acts)
		if len(acts.Items) < 5 {
			t.Fatalf("activity: %+v", acts.Items)
		}
	})
}

func TestEndToEndDuplicates(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		first := e.send("crm", "dup-1", "c1", "hello")
		again := e.send("crm", "dup-1", "c1", "hello")
		if !again.Duplicate || again.MessageID != first.MessageID || first.Duplicate {
			t.Fatalf("first %+v, again %+v", first, again)
		}
		body := []byte(`{"message_id":"race","contact":{"id":"c9","name":"Racer"},"text":"same"}`)
		var wg sync.WaitGroup
		var dups, fresh atomic.Int32
		ids := make(chan int64, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, r, raw := e.post("crm", body, "")
				if st != 202 {
					t.Errorf("concurrent: %d %s", st, raw)
					return
				}
				if r.Duplicate {
					dups.Add(1)
				} else {
					fresh.Add(1)
				}
				ids <- r.MessageID
			}()
		}
		wg.Wait()
		close(ids)
		var id0 int64
		for id := range ids {
			if id0 == 0 {
				id0 = id
			}
			if id != id0 {
				t.Fatalf("different message ids: %d, %d", id0, id)
			}
		}
		if fresh.Load() != 1 || dups.Load() != 19 {
			t.Fatalf("fresh %d, duplicates %d", fresh.Load(), dups.Load())
		}
		var p page
		e.call("GET", "/api/v1/journal?q=same", e.owner, nil, &p)
		if len(p.Items) != 1 {
			t.Fatalf("conversations with the raced message: %d", len(p.Items))
		}
		var ms struct{ Items []any }
		e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", p.Items[0].ID), e.owner, nil, &ms)
		if len(ms.Items) != 1 {
			t.Fatalf("%d rows for one message", len(ms.Items))
		}
	})
}

func TestEndToEndJournalPagingAndAccess(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		for i := range 5 {
			e.send("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i), "hi")
		}
		shop := e.send("shop", "s1", "x1", "a sales question")
		var titles []string
		cursor := ""
		for range 10 {
			var p page
			if st := e.call("GET", "/api/v1/journal?limit=2&cursor="+cursor, e.owner, nil, &p); st != 200 {
				t.Fatalf("journal page: %d", st)
			}
			for _, it := range p.Items {
				titles = append(titles, it.Title)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		want := "[Customer x1 Customer c4 Customer c3 Customer c2 Customer c1 Customer c0]"
		if fmt.Sprint(titles) != want {
			t.Fatalf("journal order %v, want %s", titles, want)
		}
		var p page
		e.call("GET", "/api/v1/journal?channel=shop", e.owner, nil, &p)
		if len(p.Items) != 1 || p.Items[0].Channel.Name != "Shop" {
			t.Fatalf("channel filter: %+v", p.Items)
		}
		var eb struct{ Error struct{ Code, Field string } }
		if st := e.call("GET", "/api/v1/journal?cursor=garbage", e.owner, nil, &eb); st != 400 || eb.Error.Field != "cursor" {
			t.Fatalf("bad cursor: %d %+v", st, eb)
		}
		if st := e.call("GET", "/api/v1/journal?status=open", e.owner, nil, &eb); st != 400 || eb.Error.Field != "status" {
			t.Fatalf("bad status: %d %+v", st, eb)
		}
		// Agents: 403 on the journal, 404 on what they may not see.
		if st := e.call("GET", "/api/v1/journal", e.anna, nil, nil); st != 403 {
			t.Fatalf("agent journal: %d", st)
		}
		if st, _ := e.conversation(e.anna, shop.ConversationID); st != 404 {
			t.Fatalf("agent sees another queue's conversation: %d", st)
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/join", shop.ConversationID), e.anna, nil, nil); st != 404 {
			t.Fatalf("agent joins another queue's conversation: %d", st)
		}
		if st, _ := e.conversation(e.sales, shop.ConversationID); st != 200 {
			t.Fatalf("sales agent sees its queue: %d", st)
		}
		var q page
		e.call("GET", "/api/v1/conversations?view=queue", e.anna, nil, &q)
		if len(q.Items) != 5 {
			t.Fatalf("anna's queue: %d, want 5", len(q.Items))
		}
		if st := e.call("GET", "/api/v1/conversations/abc", e.owner, nil, nil); st != 404 {
			t.Fatalf("malformed id: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", "", nil, nil); st != 401 {
			t.Fatalf("anonymous: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", "ibx_forged", nil, nil); st != 401 {
			t.Fatalf("forged token: %d", st)
		}
	})
}

func TestEndToEndHostileWebhooks(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		good := []byte(`{"message_id":"h1","contact":{"id":"c1"},"text":"hi"}`)
		cases := []struct {
			name   string
			body   []byte
			sig    string
			status int
		}{
			{"wrong signature", good, "sha256=" + hooksig.Sign([]byte("wrong-secret-xxxxxx"), good), 401},
			{"missing signature", good, "none", 401},
			{"malformed JSON", []byte(`{"message_id":`), "", 400},
			{"invalid UTF-8", []byte("{\"message_id\":\"u1\",\"contact\":{\"id\":\"c1\"},\"text\":\"\xff\xfe\"}"), "", 400},
			{"unknown field", []byte(`{"message_id":"u2","contact":{"id":"c1"},"text":"x","admin":true}`), "", 400},
			{"missing contact", []byte(`{"message_id":"u3","text":"x"}`), "", 400},
			{"2 MB body", append([]byte(`{"message_id":"big","contact":{"id":"c1"},"text":"`), bytes.Repeat([]byte("a"), 2<<20)...), "", 413},
		}
		for _, c := range cases {
			sig := c.sig
			if sig == "none" {
				sig = "-"
			}
			st, _, raw := e.post("crm", c.body, sig)
			if st != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, st, raw, c.status)
			}
			if !strings.Contains(raw, `"error"`) {
				t.Errorf("%s: no error envelope: %s", c.name, raw)
			}
		}
		var p page
		e.call("GET", "/api/v1/journal", e.owner, nil, &p)
		if len(p.Items) != 0 {
			t.Fatalf("hostile requests stored %d conversations", len(p.Items))
		}
		if st, _, _ := e.post("nosuch", good, ""); st != 404 {
			t.Fatalf("unknown channel: %d", st)
		}
		// The same body sent to the widget channel's hook path: no such hook.
		req, _ := http.NewRequest("POST", e.base+"/hooks/telegram/crm", bytes.NewReader(good))
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("kind mismatch: %d", resp.StatusCode)
		}
	})
}

func TestEndToEndOutboundCallback(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e.callback.mu.Lock()
		e.callback.failures = 2
		e.callback.mu.Unlock()
		r := e.send("crm", "m1", "c1", "hello")
		var msg struct{ ID int64 }
		e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.anna, map[string]string{"text": "on it"}, &msg)
		deadline := time.Now().Add(10 * time.Second)
		var delivery string
		for time.Now().Before(deadline) {
			var ms struct {
				Items []struct {
					ID       int64
					Delivery *string
				}
			}
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.owner, nil, &ms)
			if d := ms.Items[1].Delivery; d != nil && *d == "sent" {
				delivery = *d
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if delivery != "sent" {
			t.Fatalf("reply not delivered; callback hits: %d", len(e.callback.hits()))
		}
		hits := e.callback.hits()
		ok := 0
		for _, h := range hits {
			if !hooksig.Verify([]byte(secret), h.body, h.signature, "sha256=") {
				t.Fatalf("callback signature does not verify: %s", h.signature)
			}
			if h.delivery != fmt.Sprint(msg.ID) {
				t.Fatalf("X-Inboxd-Delivery = %q, want %d", h.delivery, msg.ID)
			}
			if h.status == 200 {
				ok++
			}
		}
		if len(hits) != 3 || ok != 1 {
			t.Fatalf("callback hits %d (ok %d), want 3 with exactly 1 success", len(hits), ok)
		}
		var body struct {
			MessageID int64  `json:"message_id"`
			Text      string `json:"text"`
			Contact   struct{ ID string }
			Author    struct{ Name string }
		}
		json.Unmarshal(hits[2].body, &body)
		if body.Text != "on it" || body.Contact.ID != "c1" || body.Author.Name != "Anna" || body.MessageID != msg.ID {
			t.Fatalf("callback body: %+v", body)
		}
		time.Sleep(300 * time.Millisecond) // nothing more may arrive
		if n := len(e.callback.hits()); n != 3 {
			t.Fatalf("duplicate delivery: %d hits", n)
		}
	})
}

func TestEndToEndLiveFeedReplay(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e.send("crm", "m1", "c1", "first")
		// A client resuming from event 0 gets what it missed, then live events.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/api/v1/journal/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.owner)
		req.Header.Set("Last-Event-ID", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(resp.Body)
		var ids []string
		var kinds []string
		go func() {
			time.Sleep(200 * time.Millisecond)
			e.send("crm", "m2", "c2", "second")
		}()
		for len(kinds) < 4 && sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				ids = append(ids, v)
			}
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				kinds = append(kinds, v)
			}
		}
		want := "[conversation.created message.created conversation.created message.created]"
		if fmt.Sprint(kinds) != want || fmt.Sprint(ids) != "[1 2 3 4]" {
			t.Fatalf("feed kinds %v ids %v", kinds, ids)
		}
		// Agents may not watch the journal feed.
		req2, _ := http.NewRequest("GET", e.base+"/api/v1/journal/events", nil)
		req2.Header.Set("Authorization", "Bearer "+e.anna)
		resp2, _ := http.DefaultClient.Do(req2)
		resp2.Body.Close()
		if resp2.StatusCode != 403 {
			t.Fatalf("agent feed: %d", resp2.StatusCode)
		}
	})
}

// TestEndToEndLiveFeedEndsOnShutdown: stopping the daemon closes open
// feeds at once (they left net/http: neither Shutdown nor the end of the
// requests' context reaches them).
func TestEndToEndLiveFeedEndsOnShutdown(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var bodies []io.ReadCloser
		for _, path := range []string{"/api/v1/journal/events", "/api/v1/me/events"} {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.owner)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
			}
			bodies = append(bodies, resp.Body)
		}
		start := time.Now()
		e.d.Stop()
		for _, b := range bodies {
			if _, err := io.Copy(io.Discard, b); ctx.Err() != nil {
				t.Fatalf("feed still open after the daemon stopped (%v)", err)
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("stopping took %s with feeds open", d)
		}
	})
}

func TestEndToEndCookieSessionAndCSRF(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		body := strings.NewReader(`{"email":"anna@example.com","password":"password-Anna"}`)
		resp, err := http.Post(e.base+"/api/v1/auth/login", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var session, csrf *http.Cookie
		for _, c := range resp.Cookies() {
			switch c.Name {
			case "inboxd_session":
				session = c
			case "inboxd_csrf":
				csrf = c
			}
		}
		if session == nil || csrf == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookies: %+v %+v", session, csrf)
		}
		do := func(method, path, csrfHeader string, body string) int {
			req, _ := http.NewRequest(method, e.base+path, strings.NewReader(body))
			req.AddCookie(session)
			req.AddCookie(csrf)
			req.Header.Set("Content-Type", "application/json")
			if csrfHeader != "" {
				req.Header.Set("X-CSRF-Token", csrfHeader)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if st := do("GET", "/api/v1/me", "", ""); st != 200 {
			t.Fatalf("cookie GET: %d", st)
		}
		if st := do("PUT", "/api/v1/me/status", "", `{"status":"online"}`); st != 403 {
			t.Fatalf("cookie PUT without CSRF: %d", st)
		}
		if st := do("PUT", "/api/v1/me/status", "wrong", `{"status":"online"}`); st != 403 {
			t.Fatalf("cookie PUT with wrong CSRF: %d", st)
		}
		if st := do("PUT", "/api/v1/me/status", csrf.Value, `{"status":"online"}`); st != 200 {
			t.Fatalf("cookie PUT with CSRF: %d", st)
		}
		if st := do("PUT", "/api/v1/me/status", csrf.Value, `{"status":"sleeping"}`); st != 400 {
			t.Fatalf("bad status: %d", st)
		}
		if st := do("POST", "/api/v1/auth/logout", csrf.Value, ""); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		if st := do("GET", "/api/v1/me", "", ""); st != 401 {
			t.Fatalf("after logout: %d", st)
		}
	})
}

func TestEndToEndHealthAndMetrics(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var rd struct {
			Status string
			Checks map[string]string
		}
		if st := e.call("GET", "/readyz", "", nil, &rd); st != 200 || rd.Checks["database"] != "ok" {
			t.Fatalf("readyz: %d %+v", st, rd)
		}
		e.send("crm", "m1", "c1", "hi")
		resp, err := http.Get(e.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `inboxd_http_requests_total{method="POST",route="/hooks/:kind/:channel",status="202"} 1`) {
			t.Fatalf("metrics lack the webhook request:\n%.2000s", b)
		}
		resp, _ = http.Get(e.base + "/api/openapi.yaml")
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "openapi: 3") {
			t.Fatalf("openapi: %.100s", b)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Fatal("no request id")
		}
	})
}

func TestEndToEndLoginThrottle(t *testing.T) {
	e := start(t, store.SQLite)
	e.clock.freeze() // the first lockout is 1 s: it must not expire mid-test
	bad := map[string]string{"email": "anna@example.com", "password": "wrong-password"}
	for i := 0; i < 5; i++ {
		if st := e.call("POST", "/api/v1/auth/login", "", bad, nil); st != 401 {
			t.Fatalf("failure %d: %d", i+1, st)
		}
	}
	// The sixth failure starts a lockout; then even the right password waits.
	e.call("POST", "/api/v1/auth/login", "", bad, nil)
	req, _ := http.NewRequest("POST", e.base+"/api/v1/auth/login", strings.NewReader(`{"email":"anna@example.com","password":"password-Anna"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("locked-out login: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another account from another IP is not affected... but this test
	// runs from one IP, which is throttled too: that is the point.
	if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": "password-Bob"}, nil); st != 429 {
		t.Fatalf("same IP, other account: %d, want 429 (the IP is throttled)", st)
	}
}
