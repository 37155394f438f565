package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

func TestTags(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d)
			ctx := context.Background()
			w := inbox.NewWorkspace(f.svc, f.st, []string{"support", "sales"})

			if _, err := w.CreateTag(ctx, f.anna, "vip", ""); inbox.ErrorCode(err) != inbox.EForbidden {
				t.Fatalf("agent creates a tag: %v", err)
			}
			vip, err := w.CreateTag(ctx, f.owner, " VIP ", "#FF0000")
			if err != nil || vip.ID == 0 || vip.Name != "vip" || vip.Color != "#ff0000" {
				t.Fatalf("create: %+v %v", vip, err)
			}
			if _, err := w.CreateTag(ctx, f.owner, "vip", ""); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("duplicate name: %v", err)
			}
			billing, err := w.CreateTag(ctx, f.owner, "billing", "")
			if err != nil || billing.Color != inbox.DefaultTagColor {
				t.Fatalf("create billing: %+v %v", billing, err)
			}
			ts, err := w.Tags(ctx)
			if err != nil || len(ts) != 2 || ts[0].Name != "billing" || ts[1].Name != "vip" {
				t.Fatalf("list: %+v %v", ts, err)
			}

			// Ten conversations, every other one tagged vip.
			var ids []int64
			for i := range 10 {
				r := f.ingest("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i), "hello")
				ids = append(ids, r.ConversationID)
			}
			sales := f.ingest("sales", "s1", "s1", "hello").ConversationID
			if _, err := w.SetConversationTags(ctx, f.anna, sales, []string{"vip"}); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("another queue's conversation: %v", err)
			}
			if _, err := w.SetConversationTags(ctx, f.anna, ids[0], []string{"nope"}); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("unknown tag: %v", err)
			}
			f.mu.Lock()
			f.events = nil
			f.mu.Unlock()
			for i, id := range ids {
				if i%2 == 0 {
					got, err := w.SetConversationTags(ctx, f.anna, id, []string{"VIP", "vip"})
					if err != nil || !slices.Equal(got, []string{"vip"}) {
						t.Fatalf("tag %d: %v %v", id, got, err)
					}
				}
			}
			// The change is one event carrying the tags, and an activity.
			f.mu.Lock()
			evs := f.events
			f.mu.Unlock()
			if len(evs) != 5 || evs[0].Kind != inbox.EventConversationUpdated || evs[0].ID == 0 {
				t.Fatalf("events: %+v", evs)
			}
			var p struct{ Tags []string }
			if err := json.Unmarshal(evs[0].Payload, &p); err != nil || !slices.Equal(p.Tags, []string{"vip"}) {
				t.Fatalf("payload %s: %v", evs[0].Payload, err)
			}
			acts, err := f.st.ConversationActivities(ctx, ids[0], 10)
			if err != nil {
				t.Fatal(err)
			}
			if a := acts[len(acts)-1]; a.Kind != inbox.ActivityTagged || a.Data["added"] != "vip" || a.ActorID != f.anna.ID {
				t.Fatalf("activities: %+v", acts)
			}
			// Setting the same tags again changes nothing.
			if _, err := w.SetConversationTags(ctx, f.anna, ids[0], []string{"vip"}); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			if len(f.events) != 5 {
				t.Fatalf("a no-op wrote events: %d", len(f.events))
			}
			f.mu.Unlock()

			// The filter pages by the tag's index, newest activity first,
			// and follows a conversation's new activity.
			f.ingest("crm", "again", "c2", "again") // ids[2] moves to the top
			want := []int64{ids[2], ids[8], ids[6], ids[4], ids[0]}
			var got []int64
			var after *journal.Cursor
			for {
				p, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Tag: "vip", Limit: 2, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					got = append(got, it.ID)
					if !slices.Equal(it.Tags, []string{"vip"}) {
						t.Fatalf("item tags: %+v", it)
					}
				}
				if p.NextCursor == "" {
					break
				}
				c, _ := journal.DecodeCursor(p.NextCursor)
				after = &c
			}
			if !slices.Equal(got, want) {
				t.Fatalf("tag pages: %v, want %v", got, want)
			}
			// With a status, an agent and a search, and an unknown tag.
			if p, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Tag: "vip", Text: "again"}); err != nil || len(p.Items) != 1 || p.Items[0].ID != ids[2] {
				t.Fatalf("tag and search: %+v %v", p.Items, err)
			}
			if _, err := f.svc.Reply(ctx, f.anna, ids[4], "hi"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Reply(ctx, f.anna, ids[5], "hi"); err != nil {
				t.Fatal(err)
			}
			if p, err := f.j.List(ctx, journal.Query{Viewer: f.anna, Scope: journal.ScopeMine, Tag: "vip"}); err != nil || len(p.Items) != 1 || p.Items[0].ID != ids[4] {
				t.Fatalf("mine and tag: %+v %v", p.Items, err)
			}
			if p, err := f.j.List(ctx, journal.Query{Viewer: f.anna, Scope: journal.ScopeQueue, Tag: "vip"}); err != nil || len(p.Items) != 4 {
				t.Fatalf("queue and tag: %+v %v", p.Items, err)
			}
			if p, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Tag: "billing"}); err != nil || len(p.Items) != 0 {
				t.Fatalf("unused tag: %+v %v", p.Items, err)
			}
			if p, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Tag: "unknown"}); err != nil || len(p.Items) != 0 {
				t.Fatalf("unknown tag: %+v %v", p.Items, err)
			}
			if _, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Tag: "<b>"}); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("malformed tag: %v", err)
			}
			if d := f.conv(ids[0]); !slices.Equal(d.Tags, []string{"vip"}) {
				t.Fatalf("detail tags: %+v", d.Tags)
			}
			if d := f.conv(ids[1]); d.Tags == nil || len(d.Tags) != 0 {
				t.Fatalf("untagged detail: %#v", d.Tags)
			}

			// Replacing and clearing; deleting a tag takes it off.
			if got, err := w.SetConversationTags(ctx, f.owner, ids[0], []string{"billing", "vip"}); err != nil || !slices.Equal(got, []string{"billing", "vip"}) {
				t.Fatalf("two tags: %v %v", got, err)
			}
			if _, err := w.SetConversationTags(ctx, f.owner, ids[2], nil); err != nil {
				t.Fatal(err)
			}
			if d := f.conv(ids[2]); len(d.Tags) != 0 {
				t.Fatalf("cleared: %v", d.Tags)
			}
			if err := w.DeleteTag(ctx, f.anna, vip.ID); inbox.ErrorCode(err) != inbox.EForbidden {
				t.Fatalf("agent deletes: %v", err)
			}
			if err := w.DeleteTag(ctx, f.owner, vip.ID); err != nil {
				t.Fatal(err)
			}
			if err := w.DeleteTag(ctx, f.owner, vip.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("deleted twice: %v", err)
			}
			if d := f.conv(ids[0]); !slices.Equal(d.Tags, []string{"billing"}) {
				t.Fatalf("after delete: %v", d.Tags)
			}
			many := make([]string, inbox.MaxConversationTags+1)
			for i := range many {
				many[i] = fmt.Sprintf("t%d", i)
			}
			if _, err := w.SetConversationTags(ctx, f.owner, ids[0], many); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("too many: %v", err)
			}
		})
	}
}

func TestCannedReplies(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d)
			ctx := context.Background()
			w := inbox.NewWorkspace(f.svc, f.st, []string{"support", "sales"})
			sam := f.user("sam@example.com", "Sam", inbox.RoleAgent, []string{"sales"})

			shared := inbox.CannedInput{Shortcut: "/Hello", Title: "Greeting", Text: "Hi {{contact.name}}, I am {{ agent.name }} (#{{conversation.number}}, {{contact.email}})"}
			if _, err := w.CreateCanned(ctx, f.anna, shared); inbox.ErrorCode(err) != inbox.EForbidden {
				t.Fatalf("agent creates a shared one: %v", err)
			}
			all, err := w.CreateCanned(ctx, f.owner, shared)
			if err != nil || all.Shortcut != "hello" || all.Queue != "" || all.Personal() {
				t.Fatalf("create: %+v %v", all, err)
			}
			if _, err := w.CreateCanned(ctx, f.owner, shared); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("same scope, same shortcut: %v", err)
			}
			salesOnly, err := w.CreateCanned(ctx, f.owner, inbox.CannedInput{Shortcut: "hello", Title: "Sales", Text: "Sales here", Queue: "sales"})
			if err != nil {
				t.Fatalf("another scope: %v", err)
			}
			mine, err := w.CreateCanned(ctx, f.anna, inbox.CannedInput{Shortcut: "hello", Title: "Mine", Text: "Anna's", Personal: true})
			if err != nil || !mine.Personal() || mine.OwnerID != f.anna.ID {
				t.Fatalf("personal: %+v %v", mine, err)
			}
			for _, bad := range []inbox.CannedInput{
				{Shortcut: "x", Title: "t", Text: "{{contact.phone}}"},
				{Shortcut: "", Title: "t", Text: "x"},
				{Shortcut: "a b", Title: "t", Text: "x"},
				{Shortcut: "x", Title: "", Text: "x"},
				{Shortcut: "x", Title: "t", Text: "x", Queue: "nowhere"},
			} {
				if _, err := w.CreateCanned(ctx, f.owner, bad); inbox.ErrorCode(err) != inbox.EInvalid {
					t.Errorf("%+v: %v", bad, err)
				}
			}

			// Who sees what.
			list := func(u *inbox.User, queue string) []string {
				vs, err := w.Canned(ctx, u, queue)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, v := range vs {
					out = append(out, v.Title)
				}
				return out
			}
			if got := list(f.anna, ""); !slices.Equal(got, []string{"Greeting", "Mine"}) {
				t.Fatalf("anna sees %v", got)
			}
			if got := list(sam, ""); !slices.Equal(got, []string{"Greeting", "Sales"}) {
				t.Fatalf("sam sees %v", got)
			}
			if got := list(f.owner, "support"); !slices.Equal(got, []string{"Greeting"}) {
				t.Fatalf("owner in support sees %v", got)
			}

			// Managing: the author, or admins for shared ones.
			if _, err := w.UpdateCanned(ctx, f.anna, all.ID, shared); inbox.ErrorCode(err) != inbox.EForbidden {
				t.Fatalf("agent edits shared: %v", err)
			}
			if _, err := w.UpdateCanned(ctx, f.anna, salesOnly.ID, shared); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("agent edits another queue's: %v", err)
			}
			if _, err := w.UpdateCanned(ctx, f.owner, mine.ID, shared); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("owner edits anna's personal: %v", err)
			}
			up, err := w.UpdateCanned(ctx, f.anna, mine.ID, inbox.CannedInput{Shortcut: "bye", Title: "Bye", Text: "Bye {{contact.name}}", Personal: true})
			if err != nil || up.Shortcut != "bye" {
				t.Fatalf("update own: %+v %v", up, err)
			}
			if _, err := w.UpdateCanned(ctx, f.anna, mine.ID, inbox.CannedInput{Shortcut: "bye", Title: "Bye", Text: "x"}); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("personal flag changed: %v", err)
			}
			if _, err := w.UpdateCanned(ctx, f.owner, salesOnly.ID, inbox.CannedInput{Shortcut: "hello", Title: "S", Text: "x", Queue: ""}); inbox.ErrorCode(err) != inbox.EConflict {
				t.Fatalf("moved onto a taken shortcut: %v", err)
			}

			// Filling: for a conversation the caller sees, in its queue.
			conv := f.ingest("crm", "m1", "c1", "hello").ConversationID
			text, err := w.RenderCanned(ctx, f.anna, conv, all.ID)
			want := fmt.Sprintf("Hi Customer c1, I am Anna (#%d, )", f.conv(conv).Number)
			if err != nil || text != want {
				t.Fatalf("render: %q %v, want %q", text, err, want)
			}
			if _, err := w.RenderCanned(ctx, f.owner, conv, salesOnly.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("another queue's reply: %v", err)
			}
			if _, err := w.RenderCanned(ctx, sam, conv, all.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("another queue's conversation: %v", err)
			}
			if _, err := w.RenderCanned(ctx, f.bob, conv, mine.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("a colleague's personal reply: %v", err)
			}

			if err := w.DeleteCanned(ctx, f.bob, mine.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("bob deletes anna's: %v", err)
			}
			if err := w.DeleteCanned(ctx, f.anna, mine.ID); err != nil {
				t.Fatal(err)
			}
			if err := w.DeleteCanned(ctx, f.anna, mine.ID); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Fatalf("deleted twice: %v", err)
			}
		})
	}
}

// undoTagsCanned takes a fresh store back to before migration 0011, for
// the tests that re-run an earlier migration.
func undoTagsCanned(t *testing.T, st *store.Store) {
	t.Helper()
	undo := []string{`DROP TRIGGER conversation_tags_activity_update`}
	if st.Dialect() == store.Postgres {
		undo = []string{`DROP TRIGGER conversation_tags_activity_update ON conversations`,
			`DROP FUNCTION conversation_tags_activity_update()`}
	}
	undo = append(undo, `DROP TABLE canned_replies`, `DROP TABLE conversation_tags`, `DROP TABLE tags`)
	for _, u := range undo {
		if err := st.DB().Exec(u).Error; err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
}
