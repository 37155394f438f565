package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// TestEventsMatchingReadsWhatTheViewerMaySee: a replay through
// EventsMatching with the viewer's filter sends exactly what the feed's
// own filter (Event.Visible) accepts from every event, and for an agent
// the store reads no other row; a conversation's filter reads that
// conversation's events only.
func TestEventsMatchingReadsWhatTheViewerMaySee(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			mk := func(email string, role inbox.Role, queues ...string) *inbox.User {
				u := &inbox.User{Email: email, Name: email, Role: role, Queues: queues, CreatedAt: time.Now()}
				if err := st.CreateUser(ctx, u, "!"); err != nil {
					t.Fatal(err)
				}
				return u
			}
			anna := mk("anna@example.com", inbox.RoleAgent, "support")
			sam := mk("sam@example.com", inbox.RoleAgent, "sales")
			all := mk("al@example.com", inbox.RoleAgent)
			admin := mk("ada@example.com", inbox.RoleAdmin)
			if err := st.Seed(ctx, store.SeedOptions{Conversations: 60, MessagesPer: 3, Channels: channels,
				Agents: []int64{anna.ID, sam.ID}, Events: true, Batch: 13}); err != nil {
				t.Fatal(err)
			}
			// Events of no conversation: queues and presence.
			now := time.Now().UTC()
			for _, e := range []struct {
				kind, queue, parts string
			}{{"queue.opened", "support", ""}, {"queue.closed", "sales", ""}, {"queue.override", "", ""},
				{"presence.changed", "", fmt.Sprint(anna.ID)}, {"presence.changed", "", fmt.Sprint(sam.ID)}} {
				if err := st.DB().Exec(`INSERT INTO events (kind, conversation_id, queue, status, participants, payload, created_at)
					VALUES (?, 0, ?, '', ?, '{}', ?)`, e.kind, e.queue, e.parts, now).Error; err != nil {
					t.Fatal(err)
				}
			}
			every, err := st.EventsSince(ctx, 0, 10_000)
			if err != nil || len(every) != 60*3+5 {
				t.Fatalf("events: %d %v", len(every), err)
			}
			for _, u := range []*inbox.User{anna, sam, all, admin} {
				var want []int64
				for i := range every {
					if every[i].Visible(u) {
						want = append(want, every[i].ID)
					}
				}
				visible := func(e *inbox.Event) bool { return e.Visible(u) }
				var got []int64
				if _, err := journal.Replay(ctx, st, 0, journal.ViewerFilter(u), visible, func(e inbox.Event) error {
					got = append(got, e.ID)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
					t.Errorf("%s: replayed %v, want %v", u.Email, got, want)
				}
				read, err := st.EventsMatching(ctx, journal.ViewerFilter(u), 0, 10_000)
				if err != nil {
					t.Fatal(err)
				}
				// An agent's rows are exactly those it is sent.
				if u.Role == inbox.RoleAgent && len(read) != len(want) {
					t.Errorf("%s: read %d events to send %d", u.Email, len(read), len(want))
				}
			}
			conv := every[7].ConversationID
			evs, err := st.EventsMatching(ctx, journal.EventFilter{ConversationID: conv,
				Kinds: []inbox.EventKind{inbox.EventMessageCreated}}, 0, 100)
			if err != nil || len(evs) != 3 {
				t.Fatalf("conversation %d: %d events, %v", conv, len(evs), err)
			}
			for _, e := range evs {
				if e.ConversationID != conv || e.Kind != inbox.EventMessageCreated {
					t.Fatalf("conversation %d: got %+v", conv, e)
				}
			}
			if oldest, newest, err := st.EventBounds(ctx); err != nil || oldest != every[0].ID || newest != every[len(every)-1].ID {
				t.Fatalf("bounds %d..%d %v", oldest, newest, err)
			}
		})
	}
}

// TestEventsReplayUsesIndexes: a conversation's replay and a queue's are
// read by their indexes, not by a scan of the events table.
func TestEventsReplayUsesIndexes(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			// The query EventsMatching makes for a conversation's replay.
			q := `SELECT id, kind, conversation_id, queue, status, participants, payload, created_at
				FROM events WHERE id > 0 AND conversation_id = 7 ORDER BY id LIMIT 500`
			if d == store.SQLite {
				var plan []struct{ Detail string }
				if err := st.DB().Raw(`EXPLAIN QUERY PLAN ` + q).Scan(&plan).Error; err != nil {
					t.Fatal(err)
				}
				if len(plan) == 0 || !strings.Contains(plan[0].Detail, "events_conversation") {
					t.Fatalf("plan: %+v", plan)
				}
				return
			}
			var names []string
			if err := st.DB().Raw(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'events' ORDER BY indexname`).Scan(&names).Error; err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(names) != "[events_conversation events_pkey events_queue]" {
				t.Fatalf("indexes %v", names)
			}
		})
	}
}

// TestLiveTokens: one call says which credentials are still live: not
// deleted, not expired.
func TestLiveTokens(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
			u := &inbox.User{Email: "a@example.com", Name: "A", Role: inbox.RoleAgent, CreatedAt: now}
			if err := st.CreateUser(ctx, u, "!"); err != nil {
				t.Fatal(err)
			}
			for _, tk := range []struct {
				hash    string
				expires time.Time
			}{{"h-live", now.Add(time.Hour)}, {"h-api", time.Time{}}, {"h-expired", now.Add(-time.Second)}, {"h-deleted", time.Time{}}} {
				if err := st.CreateToken(ctx, u.ID, tk.hash, "session", "t", now.Add(-time.Hour), tk.expires); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.DeleteToken(ctx, "h-deleted"); err != nil {
				t.Fatal(err)
			}
			hashes := []string{"h-live", "h-api", "h-expired", "h-deleted", "h-unknown"}
			for i := 0; i < 600; i++ { // more than one statement's worth
				hashes = append(hashes, fmt.Sprintf("h-other-%d", i))
			}
			live, err := st.LiveTokens(ctx, hashes, now)
			if err != nil || fmt.Sprint(live) != "map[h-api:true h-live:true]" {
				t.Fatalf("live %v %v", live, err)
			}
		})
	}
}
