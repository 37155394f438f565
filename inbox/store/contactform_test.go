package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
)

// TestContactFormOneTransaction: the offline contact form writes its
// conversation, message, contact, activities and events in one
// transaction. When recording the contact fails (here its table is gone),
// nothing is left behind: no orphan conversation, message, contact,
// activity or event, and nothing is published.
func TestContactFormOneTransaction(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		m := queues.New(queues.Options{Store: f.st, Service: f.svc, Logger: slog.New(slog.DiscardHandler), Clock: inbox.ClockFunc(func() time.Time { return f.now }),
			Queues: []queues.Queue{{ID: "support", Name: "Support"}}, Channels: channels})
		count := func(table string) int64 {
			var n int64
			if err := f.st.DB().Raw(`SELECT COUNT(*) FROM ` + table).Scan(&n).Error; err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			return n
		}
		tables := []string{"conversations", "messages", "contacts", "activities", "events", "registered_contacts"}

		c, err := m.SubmitContact(ctx, "site", queues.ContactForm{Name: "Ann", Email: "ann@example.com", Message: "Call me"})
		if err != nil || c.ID == 0 || c.ConversationID == 0 {
			t.Fatalf("submit: %v %+v", err, c)
		}
		for _, tb := range tables {
			if count(tb) == 0 {
				t.Fatalf("%s: nothing written by a good form", tb)
			}
		}
		acts, err := f.st.Activities(ctx, "support", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		registered := 0
		for _, a := range acts {
			if a.Kind == inbox.ActivityRegisteredContact && a.ConversationID == c.ConversationID {
				registered++
			}
		}
		if registered != 1 {
			t.Fatalf("registered_contact activities: %d in %+v", registered, acts)
		}

		before := map[string]int64{}
		for _, tb := range tables[:5] {
			before[tb] = count(tb)
		}
		published := len(f.events)
		if err := f.st.DB().Exec(`DROP TABLE registered_contacts`).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := m.SubmitContact(ctx, "site", queues.ContactForm{Name: "Bo", Email: "bo@example.com", Message: "Hello"}); err == nil {
			t.Fatal("the form was accepted without its contact record")
		}
		for _, tb := range tables[:5] {
			if n := count(tb); n != before[tb] {
				t.Errorf("%s: %d rows after a failed form, want %d (left behind)", tb, n, before[tb])
			}
		}
		if len(f.events) != published {
			t.Errorf("a failed form published %d events", len(f.events)-published)
		}
	})
}
