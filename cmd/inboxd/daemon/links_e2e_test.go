package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

const ticketSecret = "ticket-secret-0123456789"

// ticketSystem is a fake ticket system on 127.0.0.1: it checks the
// signature, records what it was sent and answers a new ticket, or the
// status it is told to fail with.
type ticketSystem struct {
	*httptest.Server
	mu     sync.Mutex
	fail   int // 0: create tickets
	bodies []map[string]any
	badSig int
}

func newTicketSystem(t *testing.T) *ticketSystem {
	ts := &ticketSystem{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if !hooksig.Verify([]byte(ticketSecret), body, r.Header.Get("X-Inboxd-Signature"), "sha256=") {
			ts.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		ts.bodies = append(ts.bodies, m)
		if ts.fail != 0 {
			w.WriteHeader(ts.fail)
			io.WriteString(w, `{"error":"the desk is down"}`)
			return
		}
		n := len(ts.bodies)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"url":"%s/tickets/%d","id":%d,"title":"Ticket %d"}`, ts.URL, n, n, n)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *ticketSystem) setFail(status int) { ts.mu.Lock(); ts.fail = status; ts.mu.Unlock() }

func (ts *ticketSystem) last() map[string]any {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.bodies) == 0 {
		return nil
	}
	return ts.bodies[len(ts.bodies)-1]
}

// startTickets starts a daemon whose integrations.tickets is ts.
func startTickets(t *testing.T, d store.Dialect, ts *ticketSystem) *env {
	t.Helper()
	cb := newCallback() // replies are delivered somewhere
	t.Cleanup(cb.Close)
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
public_url: https://inbox.example.com
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %q}
integrations:
  tickets: {create_url: %q, secret: %q, label: "Open a desk ticket", system: desk, timeout: 5s, allow_private_fetch: true}
`, storetest.URL(t, d), secret, cb.URL, secret, ts.URL+"/api/tickets", ticketSecret)
	e := startYAML(t, yaml, daemon.Options{})
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	e.bob = e.addUser("bob@example.com", "Bob", inbox.RoleAgent, []string{"support"})
	e.sales = e.addUser("sam@example.com", "Sam", inbox.RoleAgent, []string{"sales"})
	return e
}

type linkView struct {
	ID         int64
	URL        string
	Title      string
	System     string
	ExternalID string `json:"external_id"`
	CreatedBy  *struct {
		ID   int64
		Name string
	} `json:"created_by"`
}

type linkList struct {
	Items        []linkView
	TicketAction *struct{ Label string } `json:"ticket_action"`
}

func TestEndToEndLinks(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startTickets(t, d, newTicketSystem(t))
			conv := e.send("crm", "m1", "c1", "where is my order?").ConversationID
			other := e.send("crm", "m2", "c2", "hello").ConversationID
			if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": "on it"}, nil); st != 201 {
				t.Fatalf("anna takes it: %d", st)
			}
			links := fmt.Sprintf("/api/v1/conversations/%d/links", conv)

			var l linkView
			if st := e.call("POST", links, e.anna, map[string]string{"url": "https://jira.example.com/browse/SUP-7", "title": "SUP-7", "system": "jira"}, &l); st != 201 {
				t.Fatalf("add: %d", st)
			}
			if l.ID == 0 || l.URL != "https://jira.example.com/browse/SUP-7" || l.System != "jira" || l.CreatedBy == nil || l.CreatedBy.Name != "Anna" {
				t.Fatalf("added: %+v", l)
			}
			// Bad input: clear 4xx with the field.
			for _, tc := range []struct {
				body  any
				st    int
				code  string
				field string
			}{
				{map[string]string{"url": "javascript:alert(1)"}, 400, "invalid", "url"},
				{map[string]string{"url": "ftp://files.example.com/x"}, 400, "invalid", "url"},
				{map[string]string{"title": "no url"}, 400, "invalid", "url"},
				{map[string]string{"url": "https://x.example/1", "title": strings.Repeat("t", 201)}, 400, "invalid", "title"},
				{map[string]string{"url": "https://x.example/1", "owner": "me"}, 400, "invalid", "body"},
				{map[string]string{"url": "https://x.example/1", "title": "nul\x00"}, 400, "invalid", "title"},
				{map[string]string{"url": "https://jira.example.com/browse/SUP-7"}, 409, "conflict", "url"},
				{map[string]string{"url": "https://x.example/" + strings.Repeat("a", 2<<20)}, 413, "too_large", ""},
			} {
				var ae apiError
				if st := e.call("POST", links, e.anna, tc.body, &ae); st != tc.st || ae.Error.Code != tc.code || ae.Error.Field != tc.field {
					t.Errorf("POST %.80v: %d %+v, want %d %s %s", tc.body, st, ae.Error, tc.st, tc.code, tc.field)
				}
			}
			// Another queue's agent: 404 whatever it does.
			var ae apiError
			if st := e.call("GET", links, e.sales, nil, &ae); st != 404 || ae.Error.Code != "not_found" {
				t.Fatalf("sam reads: %d", st)
			}
			if st := e.call("POST", links, e.sales, map[string]string{"url": "https://x.example/s"}, nil); st != 404 {
				t.Fatalf("sam adds: %d", st)
			}
			if st := e.call("DELETE", fmt.Sprintf("%s/%d", links, l.ID), e.sales, nil, nil); st != 404 {
				t.Fatalf("sam deletes: %d", st)
			}
			// Bob (same queue, not on it) may add, as he may join, but
			// does not see the list until he joins.
			if st := e.call("POST", links, e.bob, map[string]string{"url": "https://x.example/bob"}, &l); st != 201 {
				t.Fatalf("bob adds: %d", st)
			}
			bobs := l.ID
			if st := e.call("GET", links, e.bob, nil, nil); st != 404 {
				t.Fatalf("bob reads: %d", st)
			}

			var ll linkList
			if st := e.call("GET", links, e.anna, nil, &ll); st != 200 || len(ll.Items) != 2 || ll.TicketAction == nil ||
				ll.TicketAction.Label != "Open a desk ticket" {
				t.Fatalf("list: %d %+v", st, ll)
			}
			// Journal items and the conversation carry them.
			var jp struct {
				Items []struct {
					ID    int64
					Links []linkView
				}
			}
			if st := e.call("GET", "/api/v1/journal", e.owner, nil, &jp); st != 200 {
				t.Fatal(st)
			}
			seen := map[int64]int{}
			for _, it := range jp.Items {
				seen[it.ID] = len(it.Links)
			}
			if seen[conv] != 2 || seen[other] != 0 {
				t.Fatalf("journal links: %v", seen)
			}
			var cd struct{ Links []linkView }
			if e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", conv), e.anna, nil, &cd); len(cd.Links) != 2 || cd.Links[0].Title != "SUP-7" {
				t.Fatalf("conversation links: %+v", cd.Links)
			}

			// Delete: a wrong id, another conversation's path, then for real.
			for _, p := range []string{links + "/abc", links + "/0", fmt.Sprintf("/api/v1/conversations/%d/links/%d", other, bobs)} {
				if st := e.call("DELETE", p, e.anna, nil, &ae); st != 404 {
					t.Errorf("DELETE %s: %d", p, st)
				}
			}
			if st := e.call("DELETE", fmt.Sprintf("%s/%d", links, bobs), e.anna, nil, nil); st != 204 {
				t.Fatalf("delete: %d", st)
			}
			if st := e.call("DELETE", fmt.Sprintf("%s/%d", links, bobs), e.anna, nil, nil); st != 404 {
				t.Fatalf("delete again: %d", st)
			}
			// The activity log says who linked and unlinked what.
			var acts struct {
				Items []struct {
					Kind      string
					ActorName string `json:"actor_name"`
					Data      map[string]string
				}
			}
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/activity", conv), e.anna, nil, &acts)
			var got []string
			for _, a := range acts.Items {
				if a.Kind == "linked" || a.Kind == "unlinked" {
					got = append(got, a.Kind+" by "+a.ActorName+": "+a.Data["url"])
				}
			}
			want := []string{"linked by Anna: https://jira.example.com/browse/SUP-7", "linked by Bob: https://x.example/bob",
				"unlinked by Anna: https://x.example/bob"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("activity %v, want %v", got, want)
			}

			// The count limit: 409 past it.
			for i := len(ll.Items) - 1; i < inbox.MaxLinksPerConversation; i++ {
				if st := e.call("POST", links, e.anna, map[string]string{"url": fmt.Sprintf("https://x.example/n/%d", i)}, nil); st != 201 {
					t.Fatalf("link %d: %d", i, st)
				}
			}
			if st := e.call("POST", links, e.anna, map[string]string{"url": "https://x.example/one-too-many"}, &ae); st != 409 || !strings.Contains(ae.Error.Message, "at most") {
				t.Fatalf("past the limit: %d %+v", st, ae)
			}
		})
	}
}

func TestEndToEndCreateTicket(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ts := newTicketSystem(t)
			e := startTickets(t, d, ts)
			conv := e.send("crm", "m1", "c1", "my parcel never came").ConversationID
			if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.anna, map[string]string{"text": "let me check"}, nil); st != 201 {
				t.Fatal(st)
			}
			tickets := fmt.Sprintf("/api/v1/conversations/%d/tickets", conv)

			// The system fails: 502 naming its status, nothing stored.
			ts.setFail(500)
			var ae apiError
			if st := e.call("POST", tickets, e.anna, nil, &ae); st != 502 || ae.Error.Code != "upstream" ||
				ae.Error.Message != "the ticket system answered 500: the desk is down" {
				t.Fatalf("failing system: %d %+v", st, ae)
			}
			var ll linkList
			if e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/links", conv), e.anna, nil, &ll); len(ll.Items) != 0 {
				t.Fatalf("a failure stored %+v", ll.Items)
			}
			// Others may not: another queue (404), a colleague who does
			// not see the transcript (404).
			if st := e.call("POST", tickets, e.sales, nil, nil); st != 404 {
				t.Fatalf("sam: %d", st)
			}
			if st := e.call("POST", tickets, e.bob, nil, nil); st != 404 {
				t.Fatalf("bob: %d", st)
			}
			// The retry works: the link is stored.
			ts.setFail(0)
			var l linkView
			if st := e.call("POST", tickets, e.anna, nil, &l); st != 201 {
				t.Fatalf("retry: %d", st)
			}
			if !strings.HasPrefix(l.URL, ts.URL+"/tickets/") || l.ExternalID == "" || l.System != "desk" || !strings.HasPrefix(l.Title, "Ticket ") {
				t.Fatalf("ticket link: %+v", l)
			}
			if e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/links", conv), e.anna, nil, &ll); len(ll.Items) != 1 || ll.Items[0].ID != l.ID {
				t.Fatalf("links: %+v", ll.Items)
			}
			// What the system was sent: signed (it checked), the
			// conversation, the contact, the transcript, the way back.
			body := ts.last()
			if ts.badSig != 0 || body == nil {
				t.Fatalf("signature refused %d times", ts.badSig)
			}
			if body["console_url"] != fmt.Sprintf("https://inbox.example.com/conversations/%d", conv) {
				t.Errorf("console_url %v", body["console_url"])
			}
			if c, _ := body["contact"].(map[string]any); c == nil || c["external_id"] != "c1" {
				t.Errorf("contact %v", body["contact"])
			}
			tr, _ := body["transcript"].([]any)
			var texts []string
			for _, m := range tr {
				texts = append(texts, fmt.Sprint(m.(map[string]any)["text"]))
			}
			if fmt.Sprint(texts) != "[my parcel never came let me check]" {
				t.Errorf("transcript %v", texts)
			}
			if rb, _ := body["requested_by"].(map[string]any); rb == nil || rb["name"] != "Anna" {
				t.Errorf("requested_by %v", body["requested_by"])
			}
		})
	}
}

func TestEndToEndCreateTicketUnconfigured(t *testing.T) {
	e := start(t, store.SQLite)
	conv := e.send("crm", "m1", "c1", "hello").ConversationID
	var ae apiError
	if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/tickets", conv), e.owner, nil, &ae); st != 409 ||
		!strings.Contains(ae.Error.Message, "integrations.tickets") {
		t.Fatalf("unconfigured: %d %+v", st, ae)
	}
	var ll linkList
	if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/links", conv), e.owner, nil, &ll); st != 200 || ll.TicketAction != nil {
		t.Fatalf("list: %d %+v", st, ll)
	}
}
