package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/queues"
)

// TestNotifierRun: a run of events handled together tells an online agent
// of each new chat once — a second message of a waiting chat is not a new
// chat, even in the same run — and of customer messages in the agent's
// own conversation; the notifications of the run are stored and
// published together.
func TestNotifierRun(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		always, err := hours.Parse(hours.Config{})
		if err != nil {
			t.Fatal(err)
		}
		m := queues.New(queues.Options{Store: f.st, Clock: inbox.ClockFunc(func() time.Time { return f.now }),
			Queues: []queues.Queue{{ID: "support", Name: "Support", Schedule: always}}, Channels: channels})
		if err := f.st.SetPresence(ctx, f.anna.ID, inbox.PresenceOnline); err != nil {
			t.Fatal(err)
		}
		live, cancel := m.SubscribeNotifications(f.anna.ID)
		defer cancel()

		mine := f.ingest("crm", "n0", "c0", "earlier")
		if _, err := f.svc.Reply(ctx, f.anna, mine.ConversationID, "Anna here"); err != nil {
			t.Fatal(err)
		}
		f.events = nil
		a1 := f.ingest("crm", "n1", "c1", "first")
		f.ingest("crm", "n2", "c1", "second, same chat")
		f.ingest("crm", "n3", "c2", "another chat")
		f.ingest("crm", "n4", "c0", "to Anna's chat")
		if err := m.HandleEvents(ctx, f.events); err != nil {
			t.Fatal(err)
		}
		ns, err := m.NotificationsSince(ctx, f.anna.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, n := range ns {
			kinds[n.Kind]++
		}
		if len(ns) != 3 || kinds["new_chat"] != 2 || kinds["my_conversation"] != 1 {
			t.Fatalf("notifications %v, want 2 new_chat and 1 my_conversation", kinds)
		}
		if ns[0].ConversationID != a1.ConversationID {
			t.Fatalf("first notification for conversation %d, want %d", ns[0].ConversationID, a1.ConversationID)
		}
		for range ns {
			select {
			case n := <-live:
				if n.ID == 0 {
					t.Fatalf("published before it was stored: %+v", n)
				}
			default:
				t.Fatal("a stored notification was not published")
			}
		}
	})
}
