package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// BenchmarkIngest measures Service.Ingest of new messages from 1,000
// contacts, concurrently (b.RunParallel), on each store.
//
//	go test -run=^$ -bench=Ingest -benchtime=5s ./inbox/store/
func BenchmarkIngest(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		for _, group := range []bool{false, true} {
			name := string(d) + "/single"
			if group {
				name = string(d) + "/group"
			}
			b.Run(name, func(b *testing.B) {
				st := storetest.Open(b, d)
				svc := inbox.NewService(inbox.Options{Store: st, Channels: channels})
				if group {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					n := 1
					if d == store.Postgres {
						n = 4
					}
					svc.StartGroupCommit(ctx, n, 64, 2*time.Millisecond)
				}
				b.SetParallelism(16) // webhooks arrive concurrently
				var n atomic.Int64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						_, err := svc.Ingest(context.Background(), inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprint("b", i),
							Contact: inbox.ContactInfo{ExternalID: fmt.Sprint("c", i%1000), Name: "Bench"}, Text: "benchmark message"})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

// benchConversationsEnv sizes BenchmarkJournalFirstPage's data set.
const benchConversationsEnv = "INBOXD_BENCH_CONVERSATIONS"

// benchConversations is the journal benchmark's size: 100,000, or
// $INBOXD_BENCH_CONVERSATIONS (2,000 to 10,000,000).
func benchConversations(b *testing.B) int {
	v := os.Getenv(benchConversationsEnv)
	if v == "" {
		return 100_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2_000 || n > 10_000_000 {
		b.Fatalf("%s=%q: must be a number of conversations from 2000 to 10000000", benchConversationsEnv, v)
	}
	return n
}

// BenchmarkJournalFirstPage measures the journal's first page (50 rows)
// and a deep page at 100,000 conversations (or INBOXD_BENCH_CONVERSATIONS),
// with and without a filter. Ten agents take part in the active and
// inactive conversations (7.5 % each); one more in every n/60th.
//
//	go test -run=^$ -bench=JournalFirstPage ./inbox/store/
//	INBOXD_BENCH_CONVERSATIONS=1000000 go test -run=^$ -bench=JournalFirstPage -timeout=2h ./inbox/store/
func BenchmarkJournalFirstPage(b *testing.B) {
	n := benchConversations(b)
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			st := storetest.Open(b, d)
			ctx := context.Background()
			var agents []int64
			for k := range 10 {
				u := &inbox.User{Email: fmt.Sprintf("busy%d@example.com", k), Name: "Busy", Role: inbox.RoleAgent, CreatedAt: time.Now()}
				if err := st.CreateUser(ctx, u, "x"); err != nil {
					b.Fatal(err)
				}
				agents = append(agents, u.ID)
			}
			start := time.Now()
			if err := st.Seed(ctx, store.SeedOptions{Conversations: n, MessagesPer: 1, Channels: channels, Agents: agents}); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: seeded %d conversations in %s", d, n, time.Since(start).Round(time.Millisecond))
			owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
			// An agent in 60 conversations spread over the whole journal:
			// the filter must not walk the other ones.
			agent := &inbox.User{Email: "agent@example.com", Name: "Agent", Role: inbox.RoleAgent, CreatedAt: time.Now()}
			if err := st.CreateUser(ctx, agent, "x"); err != nil {
				b.Fatal(err)
			}
			agentID := agent.ID
			for i := int64(1); i <= int64(n); i += int64(n) / 60 {
				st.DB().Exec(`INSERT INTO participants (conversation_id, user_id, joined_at) VALUES (?, ?, ?)`, i, agentID, time.Now())
			}
			if d == store.Postgres {
				st.DB().Exec(`ANALYZE participants`)
			}
			// A tag on a tenth of the conversations, and one on 60 spread
			// over the journal (the filter reads conversation_tags' index).
			if _, err := st.SeedTags(ctx, "vip", 10); err != nil {
				b.Fatal(err)
			}
			if _, err := st.SeedTags(ctx, "rare", n/60); err != nil {
				b.Fatal(err)
			}
			j := journal.New(st, channels)
			first, err := j.List(ctx, journal.Query{Viewer: owner, Limit: 50})
			if err != nil || len(first.Items) != 50 {
				b.Fatalf("first page: %d items, %v", len(first.Items), err)
			}
			deep, _ := journal.DecodeCursor(first.NextCursor)
			// A cursor 90 % down; for the busy agent (7.5 % of the rows)
			// half-way, so that a page remains at small sizes.
			mid := deep
			deep.At = deep.At.Add(-time.Duration(n*9/10) * time.Second)
			mid.At = mid.At.Add(-time.Duration(n/2) * time.Second)
			for _, q := range []struct {
				name string
				q    journal.Query
			}{
				{"first", journal.Query{Viewer: owner, Limit: 50}},
				{"status", journal.Query{Viewer: owner, Limit: 50, Status: inbox.StatusUnassigned}},
				{"channel", journal.Query{Viewer: owner, Limit: 50, ChannelID: "site"}},
				{"agent", journal.Query{Viewer: owner, Limit: 50, AgentID: agentID}},
				{"agent/busy", journal.Query{Viewer: owner, Limit: 50, AgentID: agents[3]}},
				{"agent/busy/deep", journal.Query{Viewer: owner, Limit: 50, AgentID: agents[3], After: &mid}},
				{"deep", journal.Query{Viewer: owner, Limit: 50, After: &deep}},
				{"tag", journal.Query{Viewer: owner, Limit: 50, Tag: "vip"}},
				{"tag/deep", journal.Query{Viewer: owner, Limit: 50, Tag: "vip", After: &deep}},
				{"tag/rare", journal.Query{Viewer: owner, Limit: 50, Tag: "rare"}},
				{"tag/status", journal.Query{Viewer: owner, Limit: 50, Tag: "vip", Status: inbox.StatusUnassigned}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						p, err := j.List(ctx, q.q)
						if err != nil || len(p.Items) < 50 && q.name != "agent" && q.name != "tag/rare" || len(p.Items) == 0 {
							b.Fatalf("%d items, %v", len(p.Items), err)
						}
					}
				})
			}
			// Search (q): a word in every conversation (the journal index
			// walk), a rare pair (the full-text index), a prefix matching
			// 111 conversations, and a word in none.
			for _, s := range []struct {
				name, q string
				n       int
			}{
				{"search/common", "delivery", 50},
				{"search/rare", "4242 order", 1},
				{"search/prefix", "order 424", 50},
				{"search/none", "nowhere", 0},
			} {
				b.Run(s.name, func(b *testing.B) {
					for b.Loop() {
						p, err := j.List(ctx, journal.Query{Viewer: owner, Limit: 50, Text: s.q})
						if err != nil || len(p.Items) != s.n {
							b.Fatalf("%q: %d items, %v", s.q, len(p.Items), err)
						}
					}
				})
			}
		})
	}
}
