package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// TestParticipantActivity: the participants' copy of last_activity_at
// follows every change of the conversation's (migration 0005's triggers),
// so one agent's list (agent filter, view=mine) is in journal order and
// its keyset pages cover it exactly once.
func TestParticipantActivity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var ids []int64
		for i := range 7 {
			ids = append(ids, f.ingest("crm", fmt.Sprint("m", i), fmt.Sprint("c", i), "hello").ConversationID)
		}
		// Anna takes 0..5, Bob joins 2; then customers write again in an
		// order unrelated to the ids, and Anna leaves 4.
		for _, id := range ids[:6] {
			f.tick()
			if _, err := f.svc.Reply(ctx, f.anna, id, "Anna here"); err != nil {
				t.Fatal(err)
			}
		}
		f.tick()
		if _, err := f.svc.Act(ctx, f.bob, ids[2], inbox.ActionJoin); err != nil {
			t.Fatal(err)
		}
		for n, i := range []int{3, 0, 5, 2} {
			f.ingest("crm", fmt.Sprint("again", n), fmt.Sprint("c", i), "one more thing")
		}
		f.tick()
		if _, err := f.svc.Act(ctx, f.anna, ids[4], inbox.ActionLeave); err != nil {
			t.Fatal(err)
		}
		f.tick()
		if _, err := f.svc.Act(ctx, f.anna, ids[1], inbox.ActionClose); err != nil {
			t.Fatal(err)
		}
		checkParticipantActivity(t, f.st)

		// Anna's list: newest activity first, as the journal orders it.
		want := []int64{ids[1], ids[2], ids[5], ids[0], ids[3]}
		annaView := &inbox.User{ID: f.anna.ID, Role: inbox.RoleAgent, Queues: []string{"support"}}
		for name, q := range map[string]journal.Query{
			"agent filter": {Viewer: f.owner, AgentID: f.anna.ID},
			"view=mine":    {Viewer: annaView, Scope: journal.ScopeMine},
		} {
			for _, limit := range []int{50, 2} {
				q.Limit = limit
				if got := listAll(t, f.j, q); !slices.Equal(got, want) {
					t.Errorf("%s, pages of %d: %v, want %v", name, limit, got, want)
				}
			}
		}
		// With another filter, and a search, still in order.
		q := journal.Query{Viewer: f.owner, AgentID: f.anna.ID, Status: inbox.StatusActive, Limit: 1}
		if got := listAll(t, f.j, q); !slices.Equal(got, []int64{ids[2], ids[5], ids[0], ids[3]}) {
			t.Errorf("agent and status: %v", got)
		}
		q = journal.Query{Viewer: f.owner, AgentID: f.anna.ID, Text: "more", Limit: 1}
		if got := listAll(t, f.j, q); !slices.Equal(got, []int64{ids[2], ids[5], ids[0], ids[3]}) {
			t.Errorf("agent and search: %v", got)
		}
		q = journal.Query{Viewer: f.owner, AgentID: f.bob.ID, Limit: 50}
		if got := listAll(t, f.j, q); !slices.Equal(got, []int64{ids[2]}) {
			t.Errorf("bob: %v", got)
		}
	})
}

// TestParticipantActivityBackfill: migration 0005 fills the copy for the
// participant rows written before it.
func TestParticipantActivityBackfill(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			undoParticipantActivity(t, st, d)
			var agents []int64
			for k := range 3 {
				u := &inbox.User{Email: fmt.Sprintf("a%d@example.com", k), Name: "A", Role: inbox.RoleAgent, CreatedAt: time.Now()}
				if err := st.CreateUser(ctx, u, "!"); err != nil {
					t.Fatal(err)
				}
				agents = append(agents, u.ID)
			}
			if err := st.Seed(ctx, store.SeedOptions{Conversations: 40, Channels: channels, Agents: agents}); err != nil {
				t.Fatal(err)
			}
			if v, err := st.Migrate(ctx); err != nil || !slices.Contains(v, 5) {
				t.Fatalf("migrate: applied %v, %v", v, err)
			}
			checkParticipantActivity(t, st)
			j := journal.New(st, channels)
			owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
			got := listAll(t, j, journal.Query{Viewer: owner, AgentID: agents[1], Limit: 3})
			if len(got) != 10 || !slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }) {
				t.Fatalf("agent's list after the backfill: %v", got)
			}
		})
	}
}

// undoParticipantActivity takes a fresh store back to before migration
// 0005 (for tests of the migrations before it, too), undoing 0006 first.
func undoParticipantActivity(t *testing.T, st *store.Store, d store.Dialect) {
	t.Helper()
	undoExpiryIndexes(t, st) // 0007 comes after
	for _, u := range []string{`DROP INDEX events_conversation`, `DROP INDEX events_queue`,
		`DELETE FROM schema_migrations WHERE version = 6`} {
		if err := st.DB().Exec(u).Error; err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	undo := []string{`DROP TRIGGER conversations_activity_update ON conversations`,
		`DROP TRIGGER participants_activity_insert ON participants`,
		`DROP FUNCTION conversations_activity_update()`, `DROP FUNCTION participants_activity_insert()`}
	if d == store.SQLite {
		undo = []string{`DROP TRIGGER conversations_activity_update`, `DROP TRIGGER participants_activity_insert`}
	}
	undo = append(undo, `DROP INDEX participants_journal`,
		`CREATE INDEX participants_user ON participants(user_id, conversation_id)`,
		`ALTER TABLE participants DROP COLUMN last_activity_at`,
		`DELETE FROM schema_migrations WHERE version = 5`)
	for _, u := range undo {
		if err := st.DB().Exec(u).Error; err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
}

// checkParticipantActivity fails unless every participant row holds its
// conversation's last_activity_at, as stored.
func checkParticipantActivity(t *testing.T, st *store.Store) {
	t.Helper()
	var n, off int64
	if err := st.DB().Raw(`SELECT COUNT(*) FROM participants`).Scan(&n).Error; err != nil || n == 0 {
		t.Fatalf("participants: %d, %v", n, err)
	}
	if err := st.DB().Raw(`SELECT COUNT(*) FROM participants p JOIN conversations c ON c.id = p.conversation_id
		WHERE p.last_activity_at <> c.last_activity_at`).Scan(&off).Error; err != nil || off != 0 {
		t.Fatalf("%d of %d participant rows differ from their conversation's last_activity_at (%v)", off, n, err)
	}
}

// listAll follows next_cursor to the end and returns the ids in order.
func listAll(t *testing.T, j *journal.Journal, q journal.Query) []int64 {
	t.Helper()
	var ids []int64
	for range 100 {
		p, err := j.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		c, err := journal.DecodeCursor(p.NextCursor)
		if err != nil {
			t.Fatal(err)
		}
		q.After = &c
	}
	t.Fatal("more than 100 pages")
	return nil
}
