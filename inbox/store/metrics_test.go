package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestMetricsAggregates: the scrape-time aggregates count the outbox's
// waiting replies per channel with the oldest, and the unassigned
// conversations per queue with the oldest unanswered customer message
// (a reply answers it; an automatic answer does not).
func TestMetricsAggregates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		if bs, err := f.st.OutboxBacklogs(ctx); err != nil || len(bs) != 0 {
			t.Fatalf("empty outbox: %+v %v", bs, err)
		}
		if qs, err := f.st.UnassignedCounts(ctx); err != nil || len(qs) != 0 {
			t.Fatalf("no conversations: %+v %v", qs, err)
		}
		if ws, err := f.st.OldestWaits(ctx); err != nil || len(ws) != 0 {
			t.Fatalf("no conversations: %+v %v", ws, err)
		}
		a := f.ingest("crm", "a1", "ca", "first") // support, waits since t0
		f.tick()
		f.ingest("crm", "a2", "ca", "second")
		f.tick()
		b := f.ingest("crm", "b1", "cb", "other") // support, answered below
		f.tick()
		f.ingest("sales", "s1", "cs", "to sales") // sales
		salesAt := f.now
		f.tick()
		replyAt := f.now
		if _, err := f.svc.Reply(ctx, f.anna, b.ConversationID, "on it"); err != nil {
			t.Fatal(err)
		}
		f.tick()
		if _, err := f.svc.Reply(ctx, f.anna, a.ConversationID, "hello"); err != nil {
			t.Fatal(err)
		}
		// b goes back to unassigned with nothing unanswered; then writes.
		if _, err := f.svc.Act(ctx, f.anna, b.ConversationID, inbox.ActionLeave); err != nil {
			t.Fatal(err)
		}
		f.ingest("crm", "b2", "cb", "still there?")
		bWaits := f.now

		bs, err := f.st.OutboxBacklogs(ctx)
		if err != nil || len(bs) != 1 || bs[0].ChannelID != "crm" || bs[0].Pending != 2 || !bs[0].Oldest.Equal(replyAt) {
			t.Fatalf("outbox backlog: %+v %v, want crm 2 since %v", bs, err, replyAt)
		}
		counts, err := f.st.UnassignedCounts(ctx)
		if err != nil || len(counts) != 2 || counts["support"] != 1 || counts["sales"] != 1 {
			t.Fatalf("unassigned: %v %v, want support 1 (b; a was taken by the reply), sales 1", counts, err)
		}
		waits, err := f.st.OldestWaits(ctx)
		if err != nil || len(waits) != 2 || !waits["support"].Equal(bWaits) || !waits["sales"].Equal(salesAt) {
			t.Fatalf("waits: %v %v, want support since %v (b's new message), sales since %v", waits, err, bWaits, salesAt)
		}
	})
}

// TestMetricsAggregatesUseIndexes: the aggregates read indexes (the
// outbox's from migration 0008) on a data set big enough for the planner to care (20,000
// conversations, 1% of them unassigned, 2,000 waiting replies). On
// PostgreSQL the outbox's aggregate reads every waiting reply whatever the
// plan, and the planner rightly scans the table then: only its plan is logged.
func TestMetricsAggregatesUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 conversations")
	}
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := st.Seed(ctx, store.SeedOptions{Conversations: 20000, MessagesPer: 2, Channels: channels, Start: start}); err != nil {
				t.Fatal(err)
			}
			db := st.DB()
			if err := db.Exec(`INSERT INTO outbox (message_id, conversation_id, channel_id, attempts, next_attempt_at, created_at)
				SELECT id, conversation_id, channel_id, 0, created_at, created_at FROM messages WHERE id % 20 = 0`).Error; err != nil {
				t.Fatal(err)
			}
			// Unassigned conversations are the few a team has not taken yet.
			if err := db.Exec(`UPDATE conversations SET status = 'inactive' WHERE status = 'unassigned' AND id % 50 <> 0`).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec(`ANALYZE`).Error; err != nil {
				t.Fatal(err)
			}
			queries := map[string]string{
				"outbox_channel":       `SELECT channel_id, COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox GROUP BY channel_id`,
				"conversations_status": `SELECT queue, COUNT(*) AS n FROM conversations WHERE status = 'unassigned' GROUP BY queue`,
				"messages_conversation": `SELECT c.queue,
					MIN((SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
						AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation_id = c.id
							AND o.direction = 'out' AND o.auto = false), 0))) AS since
					FROM conversations c WHERE c.status = 'unassigned' GROUP BY c.queue`,
			}
			for index, q := range queries {
				var plan string
				if d == store.SQLite {
					var rows []struct{ Detail string }
					if err := db.Raw(`EXPLAIN QUERY PLAN ` + q).Scan(&rows).Error; err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						plan += r.Detail + "\n"
					}
				} else {
					var rows []string
					if err := db.Raw(`EXPLAIN ` + q).Scan(&rows).Error; err != nil {
						t.Fatal(err)
					}
					plan = strings.Join(rows, "\n")
				}
				t.Logf("%s:\n%s", index, plan)
				if d == store.Postgres && index == "outbox_channel" {
					continue
				}
				if !strings.Contains(plan, index) || strings.Contains(plan, "Seq Scan on "+strings.Split(index, "_")[0]) {
					t.Errorf("%s: the plan does not read the index:\n%s", index, plan)
				}
			}
			qs, err := st.UnassignedCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var n, want int64
			for _, c := range qs {
				n += c
			}
			if err := db.Raw(`SELECT COUNT(*) FROM conversations WHERE status = 'unassigned'`).Scan(&want).Error; err != nil {
				t.Fatal(err)
			}
			if n != want || n == 0 || n > 500 {
				t.Fatalf("unassigned: %d (%+v), want %d", n, qs, want)
			}
		})
	}
}

// ingestRecorder is an inbox.IngestObserver that records.
type ingestRecorder struct {
	mu       sync.Mutex
	groups   []int
	ingested []string
	rejected []string // channel/reason
}

func (r *ingestRecorder) Group(size int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups = append(r.groups, size)
}

func (r *ingestRecorder) Ingested(ch string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ingested = append(r.ingested, ch)
}

func (r *ingestRecorder) Rejected(ch, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, ch+"/"+reason)
}

// TestIngestObserver: the service reports each stored message (not a
// duplicate), each refused one with its error code (a batch's invalid
// message alone; every message of a batch the store could not commit), and
// each transaction's size; a caller that counts its own refusals
// (WithRejectsCounted, the webhook route) is left to count them, with
// group commit too.
func TestIngestObserver(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			rec := &ingestRecorder{}
			svc := inbox.NewService(inbox.Options{Store: st, Channels: channels, Observer: rec})
			ctx := context.Background()
			msg := func(ext, text string) inbox.Inbound {
				return inbox.Inbound{ChannelID: "crm", ExternalID: ext, Contact: inbox.ContactInfo{ExternalID: "c-" + ext}, Text: text}
			}
			if _, err := svc.IngestBatch(ctx, []inbox.Inbound{msg("a", "one"), msg("b", "two")}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.IngestBatch(ctx, []inbox.Inbound{msg("a", "one"), msg("c", "")}, nil); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("a batch with an empty message: %v", err)
			}
			if _, err := svc.Ingest(ctx, msg("a", "one")); err != nil { // a duplicate
				t.Fatal(err)
			}
			if _, err := svc.Ingest(inbox.WithRejectsCounted(ctx), msg("d", "")); err == nil {
				t.Fatal("an empty message was stored")
			}
			gctx, stop := context.WithCancel(ctx)
			defer stop()
			svc.StartGroupCommit(gctx, 1, 8, 0)
			if _, err := svc.Ingest(ctx, msg("e", "grouped")); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Ingest(ctx, msg("f", string([]byte{0xff}))); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Fatalf("invalid UTF-8: %v", err)
			}
			if _, err := svc.Ingest(inbox.WithRejectsCounted(ctx), msg("g", "")); err == nil {
				t.Fatal("an empty message was stored")
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if got := strings.Join(rec.ingested, ","); got != "crm,crm,crm" {
				t.Errorf("ingested %s, want a, b and e", got)
			}
			if got := strings.Join(rec.rejected, ","); got != "crm/invalid,crm/invalid" {
				t.Errorf("rejected %s, want c and f", got)
			}
			if got := fmt.Sprint(rec.groups); got != "[2 1 1]" {
				t.Errorf("groups %s, want the batch, the duplicate and e's group", got)
			}
		})
	}
}
