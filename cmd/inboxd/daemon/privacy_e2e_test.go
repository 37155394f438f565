package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestEndToEndExportAndErase: an admin downloads a customer's data and
// erases it; an agent may do neither; the open journal feed is told
// conversation.deleted and a feed resuming from before the erasure
// replays nothing of it; the conversation, the journal and the search no
// longer show it; the audit log has both, with ids and counts only.
func TestEndToEndExportAndErase(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			r := e.send("crm", "x1", "dana", "please call me about numbat-7")
			e.send("crm", "x2", "dana", "numbat-7 again")
			keep := e.send("crm", "x3", "eli", "numbat-7 is my order too")
			var conv struct{ Contact struct{ ID int64 } }
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", r.ConversationID), e.owner, nil, &conv); st != 200 {
				t.Fatalf("conversation: %d", st)
			}
			cid := conv.Contact.ID
			exportPath := fmt.Sprintf("/api/v1/contacts/%d/export", cid)

			for _, tok := range []string{e.anna, e.sales} {
				if st := e.call("GET", exportPath, tok, nil, nil); st != 403 {
					t.Fatalf("an agent exports: %d", st)
				}
				if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d", cid), tok, nil, nil); st != 403 {
					t.Fatalf("an agent erases: %d", st)
				}
			}
			req, _ := http.NewRequest("GET", e.base+exportPath, nil)
			req.Header.Set("Authorization", "Bearer "+e.owner)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var x struct {
				Contact       struct{ ID int64 }
				Conversations []struct {
					ID       int64
					Messages []struct{ Text string }
				}
				RegisteredContacts []any `json:"registered_contacts"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(raw, &x) != nil || x.Contact.ID != cid || len(x.Conversations) != 1 ||
				len(x.Conversations[0].Messages) != 2 || x.RegisteredContacts == nil {
				t.Fatalf("export: %d %s", resp.StatusCode, raw)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("export headers: %v", resp.Header)
			}
			for path, want := range map[string]int{"/api/v1/contacts/999999/export": 404, "/api/v1/contacts/x/export": 404, "/api/v1/contacts/-1/export": 404} {
				if st := e.call("GET", path, e.owner, nil, nil); st != want {
					t.Fatalf("%s: %d, want %d", path, st, want)
				}
			}

			var lastID string
			feed := e.openFeed("/api/v1/journal/events", e.owner, false, "")
			agentFeed := e.openFeed("/api/v1/me/events", e.anna, false, "")
			salesFeed := e.openFeed("/api/v1/me/events", e.sales, false, "")
			var er struct {
				ContactID int64 `json:"contact_id"`
				Deleted   struct{ Conversations, Messages, Contacts int64 }
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d", cid), e.owner, nil, &er); st != 200 ||
				er.ContactID != cid || er.Deleted.Conversations != 1 || er.Deleted.Messages != 2 || er.Deleted.Contacts != 1 {
				t.Fatalf("erase: %d %+v", st, er)
			}
			for _, f := range []*liveFeed{feed, agentFeed} {
				ev := f.next(t)
				for ev.name != "conversation.deleted" {
					ev = f.next(t)
				}
				if !strings.Contains(ev.data, fmt.Sprintf(`"id":%d`, r.ConversationID)) || strings.Contains(ev.data, "numbat") {
					t.Fatalf("deleted event: %+v", ev)
				}
				lastID = ev.id
			}
			select {
			case ev := <-salesFeed.events:
				t.Fatalf("another queue's agent was told: %+v", ev)
			case <-time.After(300 * time.Millisecond):
			}
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/contacts/%d", cid), e.owner, nil, nil); st != 404 {
				t.Fatalf("erase again: %d", st)
			}
			if st, _ := e.conversation(e.owner, r.ConversationID); st != 404 {
				t.Fatalf("the erased conversation: %d", st)
			}
			var page struct{ Items []item }
			if st := e.call("GET", "/api/v1/journal?q=numbat", e.owner, nil, &page); st != 200 || len(page.Items) != 1 || page.Items[0].ID != keep.ConversationID {
				t.Fatalf("search after the erasure: %d %+v", st, page)
			}
			// A feed resuming from the start replays nothing of the erased
			// conversation but the deletion.
			replay := e.openFeed("/api/v1/journal/events", e.owner, false, "0")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
		drain:
			for {
				select {
				case ev, ok := <-replay.events:
					if !ok {
						break drain
					}
					if strings.Contains(ev.data, "numbat-7 again") || strings.Contains(ev.data, "please call me") ||
						strings.Contains(ev.data, "Customer dana") {
						t.Fatalf("the replay still carries the erased conversation: %+v", ev)
					}
					if ev.id == lastID {
						break drain
					}
				case <-ctx.Done():
					t.Fatal("the replay did not reach the deletion")
				}
			}
			var audit []struct{ Action, TargetID, Data string }
			e.d.Store.DB().Raw(`SELECT action, target_id, data FROM audit_log WHERE action LIKE 'contact.%' ORDER BY id`).Scan(&audit)
			if len(audit) != 2 || audit[0].Action != "contact.exported" || audit[1].Action != "contact.erased" ||
				audit[1].TargetID != fmt.Sprint(cid) || strings.Contains(audit[1].Data, "dana") || strings.Contains(audit[1].Data, "numbat") {
				t.Fatalf("audit: %+v", audit)
			}
		})
	}
}
