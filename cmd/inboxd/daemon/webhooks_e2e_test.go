package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

const hookSecret = "event-hook-secret-0123"

// eventReceiver is a subscriber's endpoint on 127.0.0.1: it checks each
// delivery's signature and headers, answers 500 while failUntil is in the
// future, and records what it accepted.
type eventReceiver struct {
	*httptest.Server
	t         *testing.T
	mu        sync.Mutex
	failUntil time.Time
	accepted  []delivery
	refused   int
	bad       []string
}

type delivery struct {
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

func newEventReceiver(t *testing.T) *eventReceiver {
	r := &eventReceiver{t: t}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		var d delivery
		switch {
		case !hooksig.Verify([]byte(hookSecret), body, req.Header.Get("X-Inboxd-Signature"), "sha256="):
			r.bad = append(r.bad, "bad signature: "+string(body))
		case json.Unmarshal(body, &d) != nil || d.ID == "" || d.Event == "" || d.CreatedAt.IsZero():
			r.bad = append(r.bad, "bad envelope: "+string(body))
		case req.Header.Get("X-Inboxd-Event-Id") != d.ID || req.Header.Get("X-Inboxd-Event") != d.Event:
			r.bad = append(r.bad, "headers do not match the body: "+req.Header.Get("X-Inboxd-Event-Id"))
		}
		if time.Now().Before(r.failUntil) {
			r.refused++
			w.Header().Set("Retry-After", "0")
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		r.accepted = append(r.accepted, d)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *eventReceiver) got() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Fatalf("receiver: %v", r.bad)
	}
	return append([]delivery(nil), r.accepted...)
}

func (r *eventReceiver) names(from int) []string {
	var out []string
	for _, d := range r.got()[from:] {
		out = append(out, d.Event)
	}
	return out
}

func startWebhooks(t *testing.T, dbURL, receiverURL string) *env {
	t.Helper()
	cb := newCallback() // the CRM channel's replies
	t.Cleanup(cb.Close)
	e := startYAML(t, fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
  - {id: forms, name: Forms, offline: {mode: contact_form, message: closed}}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %q}
  - {id: site, kind: widget, name: Website, queue: forms}
integrations:
  webhook_delivery: {base_delay: 20ms, max_delay: 100ms}
  webhooks:
    - id: crm-events
      url: %q
      secret: %q
      events: [conversation.created, conversation.assigned, conversation.status_changed, message.created, message.updated, contact.registered]
      queues: [support, forms]
`, dbURL, secret, cb.URL, secret, receiverURL, hookSecret), daemon.Options{})
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	e.bob = e.addUser("bob@example.com", "Bob", inbox.RoleAgent, []string{"support"})
	return e
}

type hookState struct {
	ID            string     `json:"id"`
	URL           string     `json:"url"`
	LastEventID   int64      `json:"last_event_id"`
	Backlog       int64      `json:"backlog"`
	Delivered     int64      `json:"delivered"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastError     string     `json:"last_error"`
}

func (e *env) webhooks() hookState {
	e.t.Helper()
	var out struct{ Items []hookState }
	if st := e.call("GET", "/api/v1/integrations/webhooks", e.owner, nil, &out); st != 200 || len(out.Items) != 1 {
		e.t.Fatalf("webhooks: %d %+v", st, out)
	}
	return out.Items[0]
}

// TestWebhooksEndToEnd: a receiver on 127.0.0.1 gets every subscribed
// event of a scripted conversation in order, signed, with the event id in
// X-Inboxd-Event-Id; another queue's events and unsubscribed ones are
// not sent; while it answers 500 nothing is lost or reordered and ingest
// goes on; the state shows the error, then the success; a replay from an
// id resends exactly the events after it, with the same ids.
func TestWebhooksEndToEnd(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		rcv := newEventReceiver(t)
		e := startWebhooks(t, dbURL, rcv.URL)
		waitUntil(t, "the subscriber's cursor", func() bool { return e.webhooks().LastEventID >= 0 })

		r := e.send("crm", "m1", "c1", "Hello, where is my order?")
		e.send("shop", "s1", "c9", "another queue: not sent")
		var msg struct{ ID int64 }
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.anna,
			map[string]string{"text": "Anna here"}, &msg); st != 201 {
			t.Fatalf("reply: %d", st)
		}
		// The reply is sent to the CRM channel (message.updated: sent)
		// before anyone acts again, so that the order below is fixed.
		waitUntil(t, "the reply's delivery", func() bool { return len(rcv.got()) == 6 })
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/join", r.ConversationID), e.bob, nil, nil); st != 200 {
			t.Fatalf("join: %d", st)
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/close", r.ConversationID), e.anna, nil, nil); st != 200 {
			t.Fatalf("close: %d", st)
		}
		// The offline contact form of the forms queue.
		var sw struct{ Open bool }
		if st := e.call("PUT", "/api/v1/queues/forms/override", e.owner, map[string]string{"override": "closed"}, &sw); st != 200 {
			t.Fatalf("override: %d", st)
		}
		req, _ := http.NewRequest("POST", e.base+"/widget/v1/site/contact",
			strings.NewReader(`{"name":"Ann","email":"ann@example.com","message":"call me"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("contact form: %v %v", resp.Status, err)
		}
		resp.Body.Close()

		want := []string{"conversation.created", "message.created", // the customer writes
			"message.created", "conversation.status_changed", "conversation.assigned", // Anna's reply takes it
			"message.updated",                                               // and is sent
			"conversation.assigned",                                         // Bob joins
			"conversation.status_changed",                                   // Anna closes
			"conversation.created", "contact.registered", "message.created"} // the contact form
		waitUntil(t, "every event", func() bool { return len(rcv.got()) >= len(want) })
		got := rcv.got()
		// A reply's message and the conversation's update are one
		// transaction: accept either order of the two, nothing else.
		if got[2].Event != "message.created" {
			want[2], want[3], want[4] = "conversation.status_changed", "conversation.assigned", "message.created"
		}
		if names := rcv.names(0); strings.Join(names, " ") != strings.Join(want, " ") {
			t.Fatalf("events\n got %v\nwant %v", names, want)
		}
		var lastID int64
		for i, d := range got {
			id, err := strconv.ParseInt(strings.SplitN(d.ID, ":", 2)[0], 10, 64)
			if err != nil || id < lastID || d.ID != fmt.Sprintf("%d:%s", id, d.Event) {
				t.Fatalf("delivery %d: id %q after %d", i, d.ID, lastID)
			}
			lastID = id
		}
		var conv struct {
			ID     int64
			Status string
		}
		json.Unmarshal(got[7].Data, &conv)
		if got[7].Event != "conversation.status_changed" || conv.ID != r.ConversationID || conv.Status != "inactive" {
			t.Fatalf("the close's data: %s", got[7].Data)
		}
		var contact struct{ Name, Email, Message string }
		json.Unmarshal(got[9].Data, &contact)
		if contact.Email != "ann@example.com" || contact.Message != "call me" {
			t.Fatalf("contact.registered data: %s", got[9].Data)
		}
		waitUntil(t, "the backlog to drain", func() bool { return e.webhooks().Backlog == 0 })
		st := e.webhooks()
		if st.ID != "crm-events" || st.Delivered != int64(len(want)) || st.LastSuccessAt == nil || st.LastError != "" ||
			st.URL != rcv.URL {
			t.Fatalf("state: %+v", st)
		}
		if v, ok := e.scrape()[`inboxd_webhook_backlog{subscriber="crm-events"}`]; !ok || v != 0 {
			t.Fatalf("backlog metric: %v (present: %v), want 0", v, ok)
		}

		// The receiver answers 500 for 9 s: ingest goes on, nothing is
		// lost, nothing is reordered.
		rcv.mu.Lock()
		rcv.failUntil = time.Now().Add(9 * time.Second)
		rcv.mu.Unlock()
		before := len(got)
		var sent []int64
		for i := 0; i < 10; i++ {
			start := time.Now()
			h := e.send("crm", fmt.Sprintf("d%d", i), fmt.Sprintf("d%d", i%3), "while the receiver is down")
			if time.Since(start) > time.Second {
				t.Fatalf("ingest waited for the receiver: %s", time.Since(start))
			}
			sent = append(sent, h.MessageID)
		}
		waitUntil(t, "the receiver to fail", func() bool { return e.webhooks().LastError != "" })
		if st := e.webhooks(); !strings.Contains(st.LastError, "receiver answered 500") || st.Backlog == 0 {
			t.Fatalf("state while failing: %+v", st)
		}
		time.Sleep(5 * time.Second) // the scrape-time gauges are kept 5 s
		if v := e.scrape()[`inboxd_webhook_backlog{subscriber="crm-events"}`]; v == 0 {
			t.Fatal("the backlog metric shows nothing while the receiver is down")
		}
		waitUntil(t, "the events after the outage", func() bool {
			var n int
			for _, d := range rcv.got()[before:] {
				if d.Event == "message.created" {
					n++
				}
			}
			return n == len(sent)
		})
		var ids []int64
		for _, d := range rcv.got()[before:] {
			if d.Event == "message.created" {
				var m struct{ ID int64 }
				json.Unmarshal(d.Data, &m)
				ids = append(ids, m.ID)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(sent) {
			t.Fatalf("messages after the outage: %v, want %v in that order", ids, sent)
		}
		rcv.mu.Lock()
		refused := rcv.refused
		rcv.mu.Unlock()
		if refused == 0 {
			t.Fatal("the receiver refused nothing: the outage was not tested")
		}

		// Replay from the id of the close: exactly the deliveries after it.
		waitUntil(t, "the backlog to drain", func() bool { return e.webhooks().Backlog == 0 })
		all := rcv.got()
		closeID, _ := strconv.ParseInt(strings.SplitN(got[7].ID, ":", 2)[0], 10, 64)
		var replayWant []string
		for _, d := range all {
			if id, _ := strconv.ParseInt(strings.SplitN(d.ID, ":", 2)[0], 10, 64); id > closeID {
				replayWant = append(replayWant, d.ID)
			}
		}
		var rs hookState
		if st := e.call("POST", "/api/v1/integrations/webhooks/crm-events/replay", e.owner,
			map[string]int64{"from_event_id": closeID}, &rs); st != 202 || rs.LastEventID != closeID {
			t.Fatalf("replay: %d %+v", st, rs)
		}
		waitUntil(t, "the replay", func() bool { return len(rcv.got()) >= len(all)+len(replayWant) })
		time.Sleep(200 * time.Millisecond) // nothing more may come
		var replayed []string
		for _, d := range rcv.got()[len(all):] {
			replayed = append(replayed, d.ID)
		}
		if strings.Join(replayed, " ") != strings.Join(replayWant, " ") {
			t.Fatalf("replayed\n got %v\nwant %v", replayed, replayWant)
		}
	})
}

// TestWebhooksAdmin: the list is for owners and admins, the replay for
// owners; a replay's bad input answers 400, 404 or 409, never 500.
func TestWebhooksAdmin(t *testing.T) {
	rcv := newEventReceiver(t)
	e := startWebhooks(t, storetest.URL(t, storetest.Dialects(t)[0]), rcv.URL)
	admin := e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
	e.send("crm", "m1", "c1", "hello")
	waitUntil(t, "a delivery", func() bool { return len(rcv.got()) == 2 })
	cursor := e.webhooks().LastEventID
	replay := "/api/v1/integrations/webhooks/crm-events/replay"
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		want                      int
		code                      string
	}{
		{"agent list", "GET", "/api/v1/integrations/webhooks", e.anna, nil, 403, "forbidden"},
		{"admin list", "GET", "/api/v1/integrations/webhooks", admin, nil, 200, ""},
		{"admin replay", "POST", replay, admin, map[string]int64{"from_event_id": 0}, 403, "forbidden"},
		{"agent replay", "POST", replay, e.anna, map[string]int64{"from_event_id": 0}, 403, "forbidden"},
		{"anonymous", "GET", "/api/v1/integrations/webhooks", "", nil, 401, "unauthorized"},
		{"unknown subscriber", "POST", "/api/v1/integrations/webhooks/nope/replay", e.owner, map[string]int64{"from_event_id": 0}, 404, "not_found"},
		{"missing from_event_id", "POST", replay, e.owner, map[string]int64{}, 400, "invalid"},
		{"negative", "POST", replay, e.owner, map[string]int64{"from_event_id": -1}, 400, "invalid"},
		{"wrong type", "POST", replay, e.owner, map[string]string{"from_event_id": "x"}, 400, "invalid"},
		{"unknown key", "POST", replay, e.owner, map[string]int64{"from": 1}, 400, "invalid"},
		{"beyond the newest", "POST", replay, e.owner, map[string]int64{"from_event_id": cursor + 100}, 400, "invalid"},
	} {
		var out struct {
			Error struct{ Code, Field string }
		}
		if st := e.call(tc.method, tc.path, tc.token, tc.body, &out); st != tc.want || out.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, st, out, tc.want, tc.code)
		}
	}
	// Ahead of the cursor: 409 (a replay resends, it does not skip).
	rcv.mu.Lock()
	rcv.failUntil = time.Now().Add(time.Hour)
	rcv.mu.Unlock()
	e.send("crm", "m2", "c1", "stuck behind a receiver that is down")
	waitUntil(t, "the failure", func() bool { return e.webhooks().LastError != "" })
	st := e.webhooks()
	var out struct{ Error struct{ Code string } }
	if code := e.call("POST", replay, e.owner, map[string]int64{"from_event_id": st.LastEventID + st.Backlog}, &out); code != 409 || out.Error.Code != "conflict" {
		t.Fatalf("replay ahead of the cursor: %d %+v", code, out)
	}
	// The console page: owners and admins; agents are told it is not for them.
	for tok, want := range map[string]int{e.owner: 200, admin: 200, e.anna: 403} {
		req, _ := http.NewRequest("GET", e.base+"/integrations", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && !strings.Contains(string(b), `id="webhooks"`)) {
			t.Fatalf("/integrations: %d, want %d", resp.StatusCode, want)
		}
	}
}
