package store_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/inboxd/inboxd/inbox"
)

func TestWidgetVisitors(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(f.st.CreateVisitor(ctx, "site", "v_anon", false, "hash-a", f.now))
		must(f.st.CreateVisitor(ctx, "site", "user:42", true, "hash-phone", f.now))
		must(f.st.CreateVisitor(ctx, "site", "user:42", true, "hash-laptop", f.now))
		// A token hash is unique: a second visitor with it is refused.
		if err := f.st.CreateVisitor(ctx, "site", "v_other", false, "hash-a", f.now); err == nil {
			t.Fatal("duplicate token hash accepted")
		}

		for _, c := range []struct{ channel, hash, want string }{
			{"site", "hash-a", "v_anon"},
			{"site", "hash-phone", "user:42"},
			{"site", "hash-laptop", "user:42"},
			{"crm", "hash-a", ""}, // another channel's token is unknown here
			{"site", "hash-unknown", ""},
		} {
			got, err := f.st.VisitorByToken(ctx, c.channel, c.hash, f.now)
			must(err)
			if got != c.want {
				t.Errorf("VisitorByToken(%s, %s) = %q, want %q", c.channel, c.hash, got, c.want)
			}
		}

		id, num, err := f.st.VisitorConversation(ctx, "site", "v_anon")
		must(err)
		if id != 0 || num != 0 {
			t.Fatalf("conversation before writing: %d #%d", id, num)
		}
		f.ingest("crm", "crm-1", "v_anon", "same key, other channel")
		r := f.ingest("site", "w-1", "v_anon", "hello from the widget")
		f.ingest("site", "w-2", "user:42", "hello from a verified user")
		id, num, err = f.st.VisitorConversation(ctx, "site", "v_anon")
		must(err)
		if id != r.ConversationID || num != f.conv(r.ConversationID).Number {
			t.Fatalf("conversation = %d #%d, want %d", id, num, r.ConversationID)
		}
		if c := f.conv(id); c.Title != "#"+strconv.FormatInt(num, 10) {
			t.Fatalf("widget title = %q, want #%d", c.Title, num)
		}
		other, _, err := f.st.VisitorConversation(ctx, "site", "user:42")
		must(err)
		if other == 0 || other == id {
			t.Fatalf("verified user's conversation = %d (anonymous visitor's: %d)", other, id)
		}

		// After the reopen window a new conversation starts: the newest wins.
		f.now = f.now.Add(8 * 24 * 3600e9)
		if _, err := f.svc.Act(ctx, f.owner, r.ConversationID, inbox.ActionClose); err != nil {
			// Closing needs a participant or an admin; the owner is an admin.
			t.Fatal(err)
		}
		f.now = f.now.Add(8 * 24 * 3600e9)
		r2 := f.ingest("site", "w-3", "v_anon", "back after two weeks")
		if r2.ConversationID == r.ConversationID {
			t.Fatal("no new conversation after the reopen window")
		}
		id, _, err = f.st.VisitorConversation(ctx, "site", "v_anon")
		must(err)
		if id != r2.ConversationID {
			t.Fatalf("conversation = %d, want the newest %d", id, r2.ConversationID)
		}
	})
}
