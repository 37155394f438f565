package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// getWith GETs path as the owner and returns the status, headers and body.
func (e *env) getWith(path string) (int, http.Header, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.owner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct{ Code, Message, Field string }
}

func TestEndToEndTags(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			var vip struct {
				ID          int64
				Name, Color string
			}
			if st := e.call("POST", "/api/v1/tags", e.anna, map[string]string{"name": "vip"}, nil); st != 403 {
				t.Fatalf("agent creates a tag: %d", st)
			}
			if st := e.call("POST", "/api/v1/tags", e.owner, map[string]string{"name": "VIP", "color": "#aa0000"}, &vip); st != 201 || vip.Name != "vip" {
				t.Fatalf("create: %d %+v", st, vip)
			}
			var eb errorBody
			if st := e.call("POST", "/api/v1/tags", e.owner, map[string]string{"name": "vip"}, &eb); st != 409 || eb.Error.Code != "conflict" {
				t.Fatalf("duplicate: %d %+v", st, eb)
			}
			if st := e.call("POST", "/api/v1/tags", e.owner, map[string]string{"name": "a,b"}, &eb); st != 400 || eb.Error.Field != "name" {
				t.Fatalf("bad name: %d %+v", st, eb)
			}
			if st := e.call("POST", "/api/v1/tags", e.owner, map[string]string{"name": "billing"}, nil); st != 201 {
				t.Fatalf("billing: %d", st)
			}
			var tags struct{ Items []struct{ Name string } }
			if st := e.call("GET", "/api/v1/tags", e.anna, nil, &tags); st != 200 || len(tags.Items) != 2 {
				t.Fatalf("list: %d %+v", st, tags)
			}

			a := e.send("crm", "m1", "c1", "hello")
			b := e.send("crm", "m2", "c2", "hello")
			other := e.send("shop", "m3", "c3", "hello")
			feed := e.openFeed("/api/v1/journal/events", e.owner, false, "")

			path := fmt.Sprintf("/api/v1/conversations/%d/tags", a.ConversationID)
			if st := e.call("PUT", path, e.anna, map[string]any{"tags": []string{"nope"}}, &eb); st != 400 || eb.Error.Field != "tags" || !strings.Contains(eb.Error.Message, "nope") {
				t.Fatalf("unknown tag: %d %+v", st, eb)
			}
			if st := e.call("PUT", path, e.anna, map[string]any{}, &eb); st != 400 || eb.Error.Field != "tags" {
				t.Fatalf("no tags: %d %+v", st, eb)
			}
			if st := e.call("PUT", fmt.Sprintf("/api/v1/conversations/%d/tags", other.ConversationID), e.anna,
				map[string]any{"tags": []string{"vip"}}, nil); st != 404 {
				t.Fatalf("another queue's: %d", st)
			}
			var set struct{ Tags []string }
			if st := e.call("PUT", path, e.anna, map[string]any{"tags": []string{"VIP", "billing"}}, &set); st != 200 || !slices.Equal(set.Tags, []string{"billing", "vip"}) {
				t.Fatalf("set: %d %+v", st, set)
			}
			// The live event carries the tags.
			for {
				ev := feed.next(t)
				if ev.name != "conversation.updated" {
					continue
				}
				var fe struct {
					ConversationID int64 `json:"conversation_id"`
					Payload        struct{ Tags []string }
				}
				json.Unmarshal([]byte(ev.data), &fe)
				if fe.ConversationID == a.ConversationID && slices.Equal(fe.Payload.Tags, []string{"billing", "vip"}) {
					break
				}
			}
			// The journal and the detail carry them; the filter narrows.
			var j struct {
				Items []struct {
					ID   int64
					Tags []string
				}
			}
			if st := e.call("GET", "/api/v1/journal?tag=vip", e.owner, nil, &j); st != 200 || len(j.Items) != 1 || j.Items[0].ID != a.ConversationID {
				t.Fatalf("journal?tag=vip: %d %+v", st, j)
			}
			if st := e.call("GET", "/api/v1/journal", e.owner, nil, &j); st != 200 || len(j.Items) != 3 {
				t.Fatalf("journal: %d %+v", st, j)
			}
			for _, it := range j.Items {
				if it.Tags == nil || (it.ID == b.ConversationID && len(it.Tags) != 0) {
					t.Fatalf("journal tags: %+v", j.Items)
				}
			}
			if st := e.call("GET", "/api/v1/conversations?view=queue&tag=vip", e.anna, nil, &j); st != 200 || len(j.Items) != 1 {
				t.Fatalf("agent's queue with tag: %d %+v", st, j)
			}
			if st := e.call("GET", "/api/v1/journal?tag=%3Cb%3E", e.owner, nil, &eb); st != 400 || eb.Error.Field != "tag" {
				t.Fatalf("malformed tag filter: %d %+v", st, eb)
			}
			var det struct{ Tags []string }
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", a.ConversationID), e.anna, nil, &det); st != 200 || len(det.Tags) != 2 {
				t.Fatalf("detail: %d %+v", st, det)
			}
			// The activity entry names the change.
			var acts struct {
				Items []inbox.Activity
			}
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/activity", a.ConversationID), e.owner, nil, &acts)
			if !slices.ContainsFunc(acts.Items, func(a inbox.Activity) bool {
				return a.Kind == inbox.ActivityTagged && a.Data["added"] == "billing,vip" && a.ActorName == "Anna"
			}) {
				t.Fatalf("activity: %+v", acts)
			}
			// Statistics and the contacts CSV split by tag.
			var stats struct{ Total int }
			if st := e.call("GET", "/api/v1/stats?queue=support&tag=vip", e.owner, nil, &stats); st != 200 || stats.Total != 1 {
				t.Fatalf("stats?tag=vip: %d %+v", st, stats)
			}
			if st := e.call("GET", "/api/v1/stats?queue=support", e.owner, nil, &stats); st != 200 || stats.Total != 2 {
				t.Fatalf("stats: %d %+v", st, stats)
			}
			if st := e.call("GET", "/api/v1/stats?queue=support&tag=%3Cx%3E", e.owner, nil, &eb); st != 400 || eb.Error.Field != "tag" {
				t.Fatalf("stats with a malformed tag: %d %+v", st, eb)
			}
			for i, conv := range []int64{a.ConversationID, b.ConversationID} {
				if err := e.d.Store.SaveContact(context.Background(), &queues.Contact{Queue: "support", ChannelID: "crm",
					ConversationID: conv, Name: fmt.Sprintf("Form %d", i), Email: "f@example.com", Message: "hi",
					CreatedAt: time.Now().UTC()}, nil); err != nil {
					t.Fatal(err)
				}
			}
			csvOf := func(query string) []string {
				_, _, body := e.getWith("/api/v1/queues/support/contacts?format=csv" + query)
				return strings.Split(strings.TrimSpace(string(body)), "\n")
			}
			if lines := csvOf(""); len(lines) != 3 || !strings.HasSuffix(lines[0], ",tags") || !strings.HasSuffix(lines[2], `,"billing,vip"`) || !strings.HasSuffix(lines[1], ",") {
				t.Fatalf("csv: %q", lines)
			}
			if lines := csvOf("&tag=VIP"); len(lines) != 2 || !strings.Contains(lines[1], "Form 0") {
				t.Fatalf("csv?tag=vip: %q", lines)
			}

			// Deleting a tag takes it off its conversations.
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/tags/%d", vip.ID), e.owner, nil, nil); st != 204 {
				t.Fatalf("delete: %d", st)
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/tags/%d", vip.ID), e.owner, nil, nil); st != 404 {
				t.Fatalf("delete again: %d", st)
			}
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", a.ConversationID), e.anna, nil, &det)
			if !slices.Equal(det.Tags, []string{"billing"}) {
				t.Fatalf("after delete: %+v", det)
			}
		})
	}
}

func TestEndToEndCannedReplies(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			type canned struct {
				ID       int64
				Shortcut string
				Queue    *string
				Personal bool
			}
			var eb errorBody
			body := map[string]any{"shortcut": "hi", "title": "Greeting", "text": "Hello {{contact.name}}, {{agent.name}} here (#{{conversation.number}})"}
			if st := e.call("POST", "/api/v1/canned", e.anna, body, &eb); st != 403 {
				t.Fatalf("agent shares: %d %+v", st, eb)
			}
			var shared canned
			if st := e.call("POST", "/api/v1/canned", e.owner, body, &shared); st != 201 || shared.Queue != nil || shared.Personal {
				t.Fatalf("shared: %d %+v", st, shared)
			}
			if st := e.call("POST", "/api/v1/canned", e.owner, body, &eb); st != 409 || eb.Error.Field != "shortcut" {
				t.Fatalf("clash: %d %+v", st, eb)
			}
			for _, bad := range []struct {
				body  map[string]any
				field string
				code  int
			}{
				{map[string]any{"shortcut": "x", "title": "t", "text": "{{contact.phone}}"}, "text", 400},
				{map[string]any{"shortcut": "x", "title": "t", "text": "x", "queue": "nowhere"}, "queue", 400},
				{map[string]any{"shortcut": "x", "title": "t", "text": "x", "queue": ""}, "queue", 400},
				{map[string]any{"shortcut": "x y", "title": "t", "text": "x"}, "shortcut", 400},
				{map[string]any{"shortcut": "x", "title": "t", "text": strings.Repeat("a", inbox.MaxCannedTextBytes+1)}, "text", 413},
				{map[string]any{"shortcut": "x", "title": "t", "text": "x", "personal": true, "queue": "support"}, "queue", 400},
			} {
				if st := e.call("POST", "/api/v1/canned", e.owner, bad.body, &eb); st != bad.code || eb.Error.Field != bad.field {
					t.Errorf("%v: %d %+v", bad.body, st, eb)
				}
			}
			var sales, mine canned
			if st := e.call("POST", "/api/v1/canned", e.owner, map[string]any{"shortcut": "hi", "title": "Sales", "text": "x", "queue": "sales"}, &sales); st != 201 || sales.Queue == nil || *sales.Queue != "sales" {
				t.Fatalf("sales: %d %+v", st, sales)
			}
			if st := e.call("POST", "/api/v1/canned", e.anna, map[string]any{"shortcut": "hi", "title": "Mine", "text": "Anna: {{contact.email}}", "personal": true}, &mine); st != 201 || !mine.Personal {
				t.Fatalf("personal: %d %+v", st, mine)
			}
			var list struct{ Items []canned }
			if st := e.call("GET", "/api/v1/canned", e.anna, nil, &list); st != 200 || len(list.Items) != 2 {
				t.Fatalf("anna's list: %d %+v", st, list)
			}
			if st := e.call("GET", "/api/v1/canned?queue=sales", e.owner, nil, &list); st != 200 || len(list.Items) != 2 {
				t.Fatalf("owner's sales list: %d %+v", st, list)
			}
			if st := e.call("GET", "/api/v1/canned?queue=nowhere", e.owner, nil, &eb); st != 400 || eb.Error.Field != "queue" {
				t.Fatalf("unknown queue: %d %+v", st, eb)
			}
			// Filled for a conversation.
			conv := e.send("crm", "m1", "c1", "hello")
			var num struct{ Number int64 }
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", conv.ConversationID), e.anna, nil, &num)
			var filled struct{ Text string }
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/canned/%d", conv.ConversationID, shared.ID), e.anna, nil, &filled); st != 200 ||
				filled.Text != fmt.Sprintf("Hello Customer c1, Anna here (#%d)", num.Number) {
				t.Fatalf("filled: %d %+v", st, filled)
			}
			for _, p := range []string{
				fmt.Sprintf("/api/v1/conversations/%d/canned/%d", conv.ConversationID, sales.ID), // another queue's reply
				fmt.Sprintf("/api/v1/conversations/%d/canned/%d", conv.ConversationID, 99999),
				fmt.Sprintf("/api/v1/conversations/%d/canned/x", conv.ConversationID),
			} {
				if st := e.call("GET", p, e.anna, nil, nil); st != 404 {
					t.Errorf("%s: %d", p, st)
				}
			}
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/canned/%d", conv.ConversationID, mine.ID), e.bob, nil, nil); st != 404 {
				t.Fatalf("bob uses anna's: %d", st)
			}
			// Updating and deleting.
			up := map[string]any{"shortcut": "hello", "title": "Greeting", "text": "Hi", "queue": "support"}
			if st := e.call("PUT", fmt.Sprintf("/api/v1/canned/%d", shared.ID), e.anna, up, nil); st != 403 {
				t.Fatalf("agent edits shared: %d", st)
			}
			var upd canned
			if st := e.call("PUT", fmt.Sprintf("/api/v1/canned/%d", shared.ID), e.owner, up, &upd); st != 200 || upd.Shortcut != "hello" || upd.Queue == nil {
				t.Fatalf("update: %d %+v", st, upd)
			}
			if st := e.call("PUT", fmt.Sprintf("/api/v1/canned/%d", mine.ID), e.anna, map[string]any{"shortcut": "m", "title": "t", "text": "x"}, &eb); st != 400 || eb.Error.Field != "personal" {
				t.Fatalf("personal flag: %d %+v", st, eb)
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/canned/%d", mine.ID), e.owner, nil, nil); st != 404 {
				t.Fatalf("owner deletes anna's: %d", st)
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/canned/%d", mine.ID), e.anna, nil, nil); st != 204 {
				t.Fatalf("delete: %d", st)
			}
		})
	}
}
