package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// bulkHistory brings a fixture to the state the batch below meets: an
// open conversation (c1), one closed recently by Anna, who is online (c2:
// reopens active), one closed recently with nobody in it (c3: reopens
// unassigned) and one closed long ago (c9: a new conversation).
func bulkHistory(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.ingest("crm", "h9", "c9", "long ago")
	r9 := f.ingest("crm", "h9b", "c9", "still long ago")
	if _, err := f.svc.Act(ctx, f.owner, r9.ConversationID, inbox.ActionClose); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(8 * 24 * time.Hour) // past the reopen window
	f.ingest("crm", "h1", "c1", "open")
	r2 := f.ingest("crm", "h2", "c2", "answered")
	if _, err := f.svc.Reply(ctx, f.anna, r2.ConversationID, "hello from Anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Act(ctx, f.anna, r2.ConversationID, inbox.ActionClose); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetPresence(ctx, f.anna.ID, inbox.PresenceOnline); err != nil {
		t.Fatal(err)
	}
	r3 := f.ingest("crm", "h3", "c3", "closed unanswered")
	if _, err := f.svc.Act(ctx, f.owner, r3.ConversationID, inbox.ActionClose); err != nil {
		t.Fatal(err)
	}
	f.tick()
}

// bulkBatch covers every way a message can land: append, reopen (active
// and unassigned), new after the window, a new contact writing twice, a
// stored duplicate, the batch's own duplicate, a widget request number,
// thread keys, an attachment and a contact whose details change.
func bulkBatch() []inbox.Inbound {
	in := func(ch, ext, contact, text string) inbox.Inbound {
		return inbox.Inbound{ChannelID: ch, ExternalID: ext, Text: text,
			Contact: inbox.ContactInfo{ExternalID: contact, Name: "Customer " + contact}}
	}
	renamed := in("crm", "b1", "c1", "append")
	renamed.Contact.Name, renamed.Contact.Email = "", "c1@example.com"
	threaded := in("crm", "b6", "c5", "in a group")
	threaded.ThreadKey = "group-1"
	attached := in("crm", "b8", "c6", "")
	attached.Attachments = []inbox.Attachment{{Name: "a.txt", MIMEType: "text/plain", Data: []byte("data")}}
	return []inbox.Inbound{
		renamed,
		in("crm", "b2", "c2", "reopen active"),
		in("crm", "b3", "c3", "reopen unassigned"),
		in("crm", "b9", "c9", "after the window"),
		in("crm", "b4", "c4", "new contact"),
		in("crm", "b5", "c4", "new contact again"),
		in("crm", "h2", "c2", "stored duplicate"),
		in("crm", "b4", "c4", "the batch's duplicate"),
		in("site", "w1", "visitor-1", "from the widget"),
		threaded,
		in("crm", "b7", "c5", "not in the group"),
		attached,
		in("crm", "b10", "c4", "third from c4"),
		in("sales", "b4", "c4", "same ids, other channel"),
	}
}

// TestBulkIngestMatchesOneByOne: the fast path leaves every table exactly
// as ingesting the same messages one at a time does, and answers the same.
func TestBulkIngestMatchesOneByOne(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			bulk, single := setup(t, d), setup(t, d)
			bulkHistory(t, bulk)
			bulkHistory(t, single)
			// The batch must take the fast path: count its inserts.
			bulk.svc = inbox.NewService(inbox.Options{
				Store: poisonStore{bulk.st}, Clock: inbox.ClockFunc(func() time.Time { return bulk.now }), Publisher: bulk,
				Channels: channels, ReopenWindow: 7 * 24 * time.Hour,
			})
			bulkInserts.Store(0)

			got, err := bulk.svc.IngestBatch(ctx, bulkBatch(), &inbox.Cursor{ChannelID: "crm", Key: "k", Value: "7"})
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			if bulkInserts.Load() != 1 {
				t.Fatalf("%d bulk inserts, want 1: the batch did not take the fast path", bulkInserts.Load())
			}
			var want []inbox.IngestResult
			for _, in := range bulkBatch() {
				r, err := single.svc.Ingest(ctx, in)
				if err != nil {
					t.Fatalf("one by one %s: %v", in.ExternalID, err)
				}
				want = append(want, r)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("results\n bulk   %v\n single %v", got, want)
			}
			if !got[6].Duplicate || !got[7].Duplicate || got[7].MessageID != got[4].MessageID || got[5].Duplicate {
				t.Fatalf("duplicates not recognised: %v", got)
			}
			if c, _ := bulk.svc.Cursor(ctx, "crm", "k"); c != "7" {
				t.Fatalf("cursor %q, want 7", c)
			}
			for _, table := range []struct{ name, cols string }{
				// Contact ids differ (conflicting upserts take ids on
				// SQLite): contacts are compared by their key.
				{"contacts", "channel_id, external_id, name, username, email, phone, meta"},
				{"conversations", "id, number, channel_id, queue, " + contactKey + ", thread_key, title, subject, status, owner_id, " +
					"last_activity_at, last_message_at, last_inbound_at, last_inbound_id, preview, closed_at, created_at"},
				{"messages", "id, conversation_id, channel_id, direction, author_id, author_name, text, external_id, created_at"},
				{"attachments", "id, message_id, name, mime_type, size"},
				{"activities", "id, queue, kind, conversation_id, actor_id, data, created_at"},
				{"events", "id, kind, conversation_id, queue, status, participants, payload"},
			} {
				a, b := dump(t, bulk.st, table.name, table.cols), dump(t, single.st, table.name, table.cols)
				if a != b {
					t.Errorf("%s differ:\n bulk:\n%s\n one by one:\n%s", table.name, a, b)
				}
			}
			// The events published are the events stored, in order.
			stored, _ := bulk.st.EventsSince(ctx, 0, 1000)
			if len(stored) != len(bulk.events) || stored[len(stored)-1].ID != bulk.events[len(bulk.events)-1].ID {
				t.Fatalf("published %d events, stored %d", len(bulk.events), len(stored))
			}
			// Spot checks of what the comparison rests on.
			cs := dump(t, bulk.st, "conversations", "title, status") + dump(t, bulk.st, "contacts", "email")
			for _, want := range []string{"#", "active", "c1@example.com"} {
				if !strings.Contains(cs, want) {
					t.Errorf("conversations lack %q:\n%s", want, cs)
				}
			}
		})
	}
}

const contactKey = "(SELECT channel_id || '/' || external_id FROM contacts WHERE contacts.id = contact_id) AS contact"

// dump renders a table's rows in id order.
func dump(t *testing.T, st *store.Store, table, cols string) string {
	t.Helper()
	var rows []map[string]any
	order := "id"
	if !strings.HasPrefix(cols, "id,") {
		order = cols
	}
	if err := st.DB().Raw(`SELECT ` + cols + ` FROM ` + table + ` ORDER BY ` + order).Scan(&rows).Error; err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	var b strings.Builder
	for _, r := range rows {
		for _, c := range strings.Split(cols, ", ") {
			if _, alias, ok := strings.Cut(c, " AS "); ok {
				c = alias
			}
			v := r[c]
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%v ", c, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// poisonStore fails any insert of a message whose text is "poison", in
// bulk or alone, as a constraint would.
type poisonStore struct{ inbox.Store }

func (p poisonStore) InTx(ctx context.Context, fn func(inbox.Tx) error) error {
	return p.Store.InTx(ctx, func(tx inbox.Tx) error { return fn(poisonTx{tx}) })
}

type poisonTx struct{ inbox.Tx }

// bulkInserts counts the fast path's message inserts.
var bulkInserts atomic.Int64

var errPoison = errors.New("poisoned message")

func (p poisonTx) InsertMessage(ctx context.Context, m *inbox.Message) error {
	if m.Text == "poison" {
		return errPoison
	}
	return p.Tx.InsertMessage(ctx, m)
}

func (p poisonTx) InsertMessages(ctx context.Context, ms []*inbox.Message) error {
	bulkInserts.Add(1)
	for _, m := range ms {
		if m.Text == "poison" {
			return errPoison
		}
	}
	return p.Tx.InsertMessages(ctx, ms)
}

// TestGroupCommitFallsBack: a message that fails inside a group fails
// alone; its neighbours are stored once each, and nothing of the failed
// fast-path attempt remains.
func TestGroupCommitFallsBack(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			bulkInserts.Store(0)
			var mu sync.Mutex
			var published int
			svc := inbox.NewService(inbox.Options{Store: poisonStore{st}, Channels: channels,
				Publisher: publishFunc(func(evs []inbox.Event) { mu.Lock(); published += len(evs); mu.Unlock() })})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// One committer and a group that can hold everything: the
			// messages queue up while the first group commits.
			svc.StartGroupCommit(ctx, 1, 64, 5*time.Millisecond)
			const n = 40
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					text := fmt.Sprintf("text %d", i)
					if i%10 == 3 {
						text = "poison"
					}
					_, errs[i] = svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprintf("p%d", i),
						Contact: inbox.ContactInfo{ExternalID: fmt.Sprintf("c%d", i%6)}, Text: text})
				}(i)
			}
			wg.Wait()
			if bulkInserts.Load() == 0 {
				t.Fatal("no group took the fast path")
			}
			for i, err := range errs {
				if poisoned := i%10 == 3; poisoned != (err != nil) {
					t.Fatalf("message %d: err = %v", i, err)
				}
			}
			var count, distinct int64
			st.DB().Raw(`SELECT COUNT(*) FROM messages`).Scan(&count)
			st.DB().Raw(`SELECT COUNT(DISTINCT external_id) FROM messages`).Scan(&distinct)
			if count != n-4 || distinct != n-4 {
				t.Fatalf("%d messages stored (%d distinct), want %d", count, distinct, n-4)
			}
			evs, _ := st.EventsSince(ctx, 0, 1000)
			mu.Lock()
			defer mu.Unlock()
			if len(evs) != 2*(n-4) || published != len(evs) {
				t.Fatalf("events stored %d, published %d, want %d", len(evs), published, 2*(n-4))
			}
		})
	}
}

type publishFunc func([]inbox.Event)

func (f publishFunc) Publish(evs []inbox.Event) { f(evs) }

// TestGroupCommitLingers: a committer that found a small group waits for
// the messages that arrive within its linger, and commits them together.
func TestGroupCommitLingers(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	var mu sync.Mutex
	var publishes []int
	svc := inbox.NewService(inbox.Options{Store: st, Channels: channels,
		Publisher: publishFunc(func(evs []inbox.Event) { mu.Lock(); publishes = append(publishes, len(evs)); mu.Unlock() })})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc.StartGroupCommit(ctx, 1, 4, 10*time.Second) // a full group ends the wait
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprintf("l%d", i),
				Contact: inbox.ContactInfo{ExternalID: fmt.Sprintf("c%d", i)}, Text: "hi"}); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(20 * time.Millisecond) // each arrives after the one before was taken
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(publishes) != 1 || publishes[0] != 8 {
		t.Fatalf("published %v, want one group of 4 messages (8 events)", publishes)
	}
}
