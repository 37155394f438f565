package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// TestSeedAgents: with Agents, every active and inactive conversation has
// one participant, its owner, taken round robin; unassigned ones have
// none; and the journal's agent filter lists an agent's share.
func TestSeedAgents(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			var ids []int64
			for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				u := &inbox.User{Email: e, Name: e, Role: inbox.RoleAgent, CreatedAt: time.Now()}
				if err := st.CreateUser(ctx, u, "!"); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, u.ID)
			}
			if err := st.Seed(ctx, store.SeedOptions{Conversations: 120, Channels: channels, Agents: ids, Batch: 7}); err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				Status   string
				N        int64
				Owned    int64
				Parts    int64
				Mismatch int64
			}
			if err := st.DB().Raw(`SELECT c.status, COUNT(*) AS n, SUM(CASE WHEN c.owner_id <> 0 THEN 1 ELSE 0 END) AS owned,
				SUM((SELECT COUNT(*) FROM participants p WHERE p.conversation_id = c.id)) AS parts,
				SUM((SELECT COUNT(*) FROM participants p WHERE p.conversation_id = c.id AND p.user_id <> c.owner_id)) AS mismatch
				FROM conversations c GROUP BY c.status ORDER BY c.status`).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				want := r.N
				if r.Status == string(inbox.StatusUnassigned) {
					want = 0
				}
				if r.Owned != want || r.Parts != want || r.Mismatch != 0 {
					t.Errorf("%s: %d conversations, %d owned, %d participants, %d not the owner", r.Status, r.N, r.Owned, r.Parts, r.Mismatch)
				}
			}
			// 90 assigned conversations over 3 agents: 30 each.
			owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
			j := journal.New(st, channels)
			for _, id := range ids {
				p, err := j.List(ctx, journal.Query{Viewer: owner, AgentID: id, Limit: 200})
				if err != nil || len(p.Items) != 30 {
					t.Fatalf("agent %d: %d items, %v", id, len(p.Items), err)
				}
			}
		})
	}
}
