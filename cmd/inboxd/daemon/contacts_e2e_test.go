package daemon_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/inbox/store/storetest"
)

type contactDetail struct {
	ID            int64
	Name          string
	PersonID      int64 `json:"person_id"`
	Channel       struct{ ID, Kind, Name string }
	Linked        []struct{ ID int64 }
	Conversations []struct {
		ID        int64
		ContactID int64 `json:"contact_id"`
		Channel   struct{ ID string }
	}
}

type apiError struct {
	Error struct{ Code, Message, Field string }
}

// contactOf is the contact id of a conversation, as the owner sees it.
func (e *env) contactOf(convID int64) int64 {
	e.t.Helper()
	var d struct{ Contact struct{ ID int64 } }
	if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", convID), e.owner, nil, &d); st != 200 || d.Contact.ID == 0 {
		e.t.Fatalf("conversation %d: %d %+v", convID, st, d)
	}
	return d.Contact.ID
}

// TestContactsAPI: search, a contact's conversations on every channel,
// linking and unlinking, with the errors a client meets.
func TestContactsAPI(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			crm := e.send("crm", "m1", "ann-crm", "order 1 please")
			crm2 := e.send("crm", "m2", "ann-crm", "and order 2")
			shop := e.send("shop", "m3", "ann-shop", "shop question")
			a, b := e.contactOf(crm.ConversationID), e.contactOf(shop.ConversationID)
			// A contact's second message joins its open conversation.
			if crm2.ConversationID != crm.ConversationID {
				t.Fatalf("one conversation expected: %+v %+v", crm, crm2)
			}

			// Search: by name, for the owner every channel, for an agent hers.
			var p struct {
				Items []struct {
					ID      int64
					Name    string
					Channel struct{ ID string }
				}
				NextCursor string `json:"next_cursor"`
			}
			if st := e.call("GET", "/api/v1/contacts?q=customer+ann", e.owner, nil, &p); st != 200 || len(p.Items) != 2 || p.Items[0].ID != b {
				t.Fatalf("owner search: %d %+v", st, p)
			}
			if st := e.call("GET", "/api/v1/contacts?q=ann&limit=1", e.owner, nil, &p); st != 200 || len(p.Items) != 1 || p.NextCursor == "" {
				t.Fatalf("page of one: %d %+v", st, p)
			}
			if st := e.call("GET", "/api/v1/contacts?q=ann&limit=1&cursor="+p.NextCursor, e.owner, nil, &p); st != 200 || len(p.Items) != 1 || p.Items[0].ID != a || p.NextCursor != "" {
				t.Fatalf("second page: %d %+v", st, p)
			}
			if st := e.call("GET", "/api/v1/contacts?q=ann", e.anna, nil, &p); st != 200 || len(p.Items) != 1 || p.Items[0].ID != a {
				t.Fatalf("agent search: %d %+v", st, p)
			}
			var ae apiError
			for _, c := range []struct{ q, field string }{
				{"limit=0x", "limit"}, {"limit=500", "limit"}, {"cursor=abc", "cursor"},
				{"q=" + strings.Repeat("x", 201), "q"}, {"q=a+b+c+d+e+f+g+h+i", "q"},
			} {
				if st := e.call("GET", "/api/v1/contacts?"+c.q, e.owner, nil, &ae); st != 400 || ae.Error.Field != c.field {
					t.Errorf("%s: %d %+v", c.q, st, ae)
				}
			}

			// One contact: 404 for unknown and malformed ids, and for an
			// agent on another queue's contact.
			for _, path := range []string{"/api/v1/contacts/999999", "/api/v1/contacts/x", "/api/v1/contacts/-1"} {
				if st := e.call("GET", path, e.owner, nil, &ae); st != 404 || ae.Error.Code != "not_found" {
					t.Errorf("%s: %d %+v", path, st, ae)
				}
			}
			if st := e.call("GET", fmt.Sprintf("/api/v1/contacts/%d", b), e.anna, nil, nil); st != 404 {
				t.Errorf("anna on a sales contact: %d", st)
			}

			// Merge: owners and admins; errors first.
			merge := func(tok string, id int64, body any) (int, apiError) {
				var out apiError
				st := e.call("POST", fmt.Sprintf("/api/v1/contacts/%d/merge", id), tok, body, &out)
				return st, out
			}
			if st, _ := merge(e.anna, a, map[string]any{"into": b}); st != 403 {
				t.Errorf("agent merges: %d", st)
			}
			if st, out := merge(e.owner, a, map[string]any{"into": a}); st != 409 || out.Error.Code != "conflict" {
				t.Errorf("into itself: %d %+v", st, out)
			}
			if st, out := merge(e.owner, a, map[string]any{"into": 999999}); st != 404 || out.Error.Field != "into" {
				t.Errorf("into unknown: %d %+v", st, out)
			}
			if st, out := merge(e.owner, a, map[string]any{}); st != 400 || out.Error.Field != "into" {
				t.Errorf("no into: %d %+v", st, out)
			}
			if st, out := merge(e.owner, a, map[string]any{"into": "x"}); st != 400 || out.Error.Field != "into" {
				t.Errorf("into a string: %d %+v", st, out)
			}
			if st, _ := merge(e.owner, 999999, map[string]any{"into": a}); st != 404 {
				t.Errorf("unknown merged: %d", st)
			}
			var r struct {
				PersonID int64   `json:"person_id"`
				Linked   []int64 `json:"linked"`
			}
			if st := e.call("POST", fmt.Sprintf("/api/v1/contacts/%d/merge", a), e.owner, map[string]any{"into": b}, &r); st != 200 || r.PersonID != b || len(r.Linked) != 1 || r.Linked[0] != b {
				t.Fatalf("merge: %d %+v", st, r)
			}
			if st, out := merge(e.owner, b, map[string]any{"into": a}); st != 409 || !strings.Contains(out.Error.Message, "already linked") {
				t.Errorf("merge again: %d %+v", st, out)
			}

			// Both contacts show both conversations, newest first, each
			// with its own contact (replies still go to each identity).
			for _, id := range []int64{a, b} {
				var cd contactDetail
				if st := e.call("GET", fmt.Sprintf("/api/v1/contacts/%d", id), e.owner, nil, &cd); st != 200 {
					t.Fatalf("contact %d: %d", id, st)
				}
				if len(cd.Conversations) != 2 || cd.Conversations[0].ID != shop.ConversationID || cd.Conversations[0].ContactID != b ||
					cd.Conversations[1].ID != crm.ConversationID || cd.Conversations[1].ContactID != a || len(cd.Linked) != 1 || cd.PersonID != b {
					t.Errorf("contact %d: %+v", id, cd)
				}
			}
			// The agent of support sees her queue's conversation only.
			var cd contactDetail
			if st := e.call("GET", fmt.Sprintf("/api/v1/contacts/%d", a), e.anna, nil, &cd); st != 200 || len(cd.Conversations) != 1 ||
				cd.Conversations[0].ID != crm.ConversationID || len(cd.Linked) != 0 {
				t.Errorf("anna's view: %d %+v", st, cd)
			}
			// A reply still goes to the CRM identity.
			if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", crm.ConversationID), e.owner,
				map[string]string{"text": "answer"}, nil); st != 201 {
				t.Fatalf("reply: %d", st)
			}
			// The activity log has the change, with who did it.
			var acts struct {
				Items []struct {
					Kind      string
					ActorName string `json:"actor_name"`
				}
			}
			if st := e.call("GET", "/api/v1/activity?queue=sales", e.owner, nil, &acts); st != 200 || len(acts.Items) == 0 || acts.Items[0].Kind != "contact_linked" {
				t.Errorf("activity: %d %+v", st, acts)
			}

			// Unmerge: agents may not; then it is undone; a second time 409.
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d/merge", a), e.anna, nil, nil); st != 403 {
				t.Errorf("agent unmerges: %d", st)
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d/merge", a), e.owner, nil, &r); st != 200 || len(r.Linked) != 0 {
				t.Errorf("unmerge: %d %+v", st, r)
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d/merge", a), e.owner, nil, &ae); st != 409 {
				t.Errorf("unmerge again: %d %+v", st, ae)
			}
			if st := e.call("DELETE", "/api/v1/contacts/999999/merge", e.owner, nil, nil); st != 404 {
				t.Errorf("unmerge unknown: %d", st)
			}
			if st := e.call("GET", fmt.Sprintf("/api/v1/contacts/%d", a), e.owner, nil, &cd); st != 200 || len(cd.Conversations) != 1 || len(cd.Linked) != 0 {
				t.Errorf("after unmerge: %d %+v", st, cd)
			}
		})
	}
}
