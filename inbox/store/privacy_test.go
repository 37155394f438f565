package store_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/privacy"
	"github.com/inboxd/inboxd/inbox/queues"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/journal"
)

func (f *fixture) count(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.st.DB().Raw(q, args...).Scan(&n).Error; err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *fixture) privacy(p privacy.Policy, batch int) *privacy.Manager {
	return privacy.New(privacy.Options{Store: f.st, Clock: inbox.ClockFunc(func() time.Time { return f.now }),
		Publisher: f, Policy: p, Batch: batch})
}

// orphans counts the rows left behind by deleted conversations or
// messages (but the events that tell of an erasure).
const orphans = `SELECT
	(SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = m.conversation_id)) +
	(SELECT COUNT(*) FROM attachments a WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = a.message_id)) +
	(SELECT COUNT(*) FROM participants p WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = p.conversation_id)) +
	(SELECT COUNT(*) FROM events e WHERE e.conversation_id <> 0 AND e.kind <> 'conversation.deleted' AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = e.conversation_id)) +
	(SELECT COUNT(*) FROM activities a WHERE a.conversation_id <> 0 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = a.conversation_id)) +
	(SELECT COUNT(*) FROM reads r WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = r.conversation_id)) +
	(SELECT COUNT(*) FROM notifications n WHERE n.conversation_id <> 0 AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = n.conversation_id)) +
	(SELECT COUNT(*) FROM registered_contacts r WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = r.conversation_id)) +
	(SELECT COUNT(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = o.conversation_id))`

// TestRetentionRemovesExactlyTheOldInactive: of 10,140 two-year-old
// conversations, a run removes exactly the 10,000 inactive ones of the
// queues with a retention with their messages, attachments, events,
// activity, read marks, notifications and registered contacts, and the
// contacts left without a conversation; a queue kept for ever, recent
// conversations and a contact with a recent conversation stay. The
// journal, its search and the feeds' replay no longer show them, and the
// run is in the audit log.
func TestRetentionRemovesExactlyTheOldInactive(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		old := f.now.Add(-2 * 365 * 24 * time.Hour)
		support := []inbox.ChannelInfo{channels[0], channels[1]}
		if err := f.st.Seed(ctx, store.SeedOptions{Conversations: 10000, Channels: support, Agents: []int64{f.anna.ID},
			Start: old, Events: true, Batch: 1000, Statuses: []inbox.Status{inbox.StatusInactive}}); err != nil {
			t.Fatal(err)
		}
		// Old but open: kept, whatever their age.
		if err := f.st.Seed(ctx, store.SeedOptions{Conversations: 100, Channels: support, Agents: []int64{f.anna.ID},
			Start: old, Events: true, Statuses: []inbox.Status{inbox.StatusActive, inbox.StatusUnassigned}}); err != nil {
			t.Fatal(err)
		}
		// Sales keeps its conversations for ever.
		if err := f.st.Seed(ctx, store.SeedOptions{Conversations: 40, Channels: channels[2:], Start: old, Events: true}); err != nil {
			t.Fatal(err)
		}
		recent := f.ingest("crm", "r1", "c1", "recent message")
		closed := f.ingest("crm", "r2", "c2", "recent, closed")
		if _, err := f.svc.Act(ctx, f.owner, closed.ConversationID, inbox.ActionClose); err != nil {
			t.Fatal(err)
		}
		expired := `status = 'inactive' AND queue = 'support' AND last_activity_at < ?`
		cut := f.now.Add(-365 * 24 * time.Hour)
		if n := f.count(`SELECT COUNT(*) FROM conversations WHERE `+expired, cut); n != 10000 {
			t.Fatalf("%d old inactive conversations seeded, want 10000", n)
		}
		// Rows of every kind on the old inactive conversations: an
		// attachment on each message, read marks, notifications,
		// registered contacts, activity.
		for _, q := range []string{
			`INSERT INTO attachments (message_id, name, mime_type, size) SELECT m.id, 'scan.pdf', 'application/pdf', 3
				FROM messages m JOIN conversations c ON c.id = m.conversation_id`,
			`INSERT INTO reads (user_id, conversation_id, last_read_id) SELECT ?, id, 0 FROM conversations WHERE id % 7 = 0`,
			`INSERT INTO notifications (user_id, kind, conversation_id, queue, payload, created_at)
				SELECT ?, 'new_chat', id, queue, '{}', created_at FROM conversations WHERE id % 5 = 0`,
			`INSERT INTO registered_contacts (queue, channel_id, conversation_id, name, email, created_at)
				SELECT queue, channel_id, id, 'Form', 'form@example.com', created_at FROM conversations WHERE id % 9 = 0`,
			`INSERT INTO activities (queue, kind, conversation_id, created_at)
				SELECT queue, 'closed', id, created_at FROM conversations WHERE id % 3 = 0`,
		} {
			var args []any
			if strings.Contains(q, "?") {
				args = append(args, f.anna.ID)
			}
			if err := f.st.DB().Exec(q, args...).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var gone []int64
		if err := f.st.DB().Raw(`SELECT id FROM conversations WHERE `+expired+` ORDER BY id`, cut).Scan(&gone).Error; err != nil {
			t.Fatal(err)
		}
		// A contact with a recent conversation also had an old one: the
		// contact stays. (The old conversation's own seeded contact is left
		// without conversations, but is no contact of this run.)
		var c1 int64
		f.st.DB().Raw(`SELECT contact_id FROM conversations WHERE id = ?`, recent.ConversationID).Scan(&c1)
		if err := f.st.DB().Exec(`UPDATE conversations SET contact_id = ? WHERE id = ?`, c1, gone[0]).Error; err != nil {
			t.Fatal(err)
		}
		wantAtt := f.count(`SELECT COUNT(*) FROM attachments a JOIN messages m ON m.id = a.message_id
			JOIN conversations c ON c.id = m.conversation_id WHERE c.`+strings.ReplaceAll(expired, "AND ", "AND c."), cut)
		before := f.count(`SELECT COUNT(*) FROM conversations`)

		f.events = nil
		res, err := f.privacy(privacy.Policy{Default: 365 * 24 * time.Hour, Queues: map[string]time.Duration{"sales": 0}}, 500).RunRetention(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d := res.Deleted
		if !res.Complete || d.Conversations != 10000 || d.Messages != 10000 || d.Attachments != wantAtt || d.Contacts != 9999 {
			t.Fatalf("run: %+v, want 10000 conversations and messages, %d attachments, 9999 contacts", res, wantAtt)
		}
		if d.Events < 10000 || d.Activities == 0 || d.Notifications == 0 || d.RegisteredContacts == 0 {
			t.Fatalf("run left kinds of rows: %+v", d)
		}
		if n := f.count(`SELECT COUNT(*) FROM conversations`); n != before-10000 {
			t.Fatalf("%d conversations left, want %d", n, before-10000)
		}
		if n := f.count(`SELECT COUNT(*) FROM conversations WHERE `+expired, cut); n != 0 {
			t.Fatalf("%d expired conversations left", n)
		}
		for _, id := range []int64{recent.ConversationID, closed.ConversationID} {
			if n := f.count(`SELECT COUNT(*) FROM conversations WHERE id = ?`, id); n != 1 {
				t.Fatalf("recent conversation %d deleted", id)
			}
		}
		if n := f.count(`SELECT COUNT(*) FROM conversations WHERE queue = 'sales' AND status = 'inactive'`); n != 20 {
			t.Fatalf("sales (kept for ever): %d inactive left, want 20", n)
		}
		if n := f.count(`SELECT COUNT(*) FROM contacts WHERE id = ?`, c1); n != 1 {
			t.Fatal("a contact with a recent conversation was deleted")
		}
		if n := f.count(orphans); n != 0 {
			t.Fatalf("%d rows left of deleted conversations", n)
		}
		if len(f.events) != 0 {
			t.Fatalf("retention published %d events", len(f.events))
		}
		// Journal, search, feeds.
		deleted := map[int64]bool{}
		for _, id := range gone {
			deleted[id] = true
		}
		for _, q := range []journal.Query{
			{Viewer: f.owner, Status: inbox.StatusInactive, Limit: 200},
			{Viewer: f.owner, Text: fmt.Sprintf("order %d", gone[len(gone)/2]), Limit: 200},
			{Viewer: f.owner, Text: "delivery", Limit: 200},
		} {
			p, err := f.j.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				if deleted[it.ID] {
					t.Fatalf("journal %+v shows deleted conversation %d", q, it.ID)
				}
			}
			if q.Text == "delivery" && len(p.Items) == 0 {
				t.Fatal("search finds nothing of the kept conversations")
			}
		}
		for after := int64(0); ; {
			evs, err := f.st.EventsSince(ctx, after, 5000)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if deleted[e.ConversationID] {
					t.Fatalf("the feeds' replay still has event %d of deleted conversation %d", e.ID, e.ConversationID)
				}
			}
			after = evs[len(evs)-1].ID
		}
		var audit []struct{ Action, Data string }
		f.st.DB().Raw(`SELECT action, data FROM audit_log`).Scan(&audit)
		if len(audit) != 1 || audit[0].Action != string(inbox.AuditRetentionRun) || !strings.Contains(audit[0].Data, `"conversations":"10000"`) {
			t.Fatalf("audit: %+v", audit)
		}
		// Nothing more to do: no deletion, no audit entry.
		res, err = f.privacy(privacy.Policy{Default: 365 * 24 * time.Hour, Queues: map[string]time.Duration{"sales": 0}}, 500).RunRetention(ctx)
		if err != nil || res.Deleted.Conversations != 0 || f.count(`SELECT COUNT(*) FROM audit_log`) != 1 {
			t.Fatalf("second run: %+v %v", res, err)
		}
	})
}

// Words that only the erased person's data holds; lower case, as the
// search index keeps words.
const (
	erinName  = "erin quokkazyx"
	erinEmail = "erin.vombatus@example.org"
	erinText  = "platypusphrase"
)

// TestEraseContactLeavesNoTrace: an erased person's name, email and
// message text are in no row of any table of the schema (enumerated from
// the catalog, so tables added later are covered), search indexes
// included; another customer's data stays; the audit entry keeps ids and
// counts; open feeds are told conversation.deleted.
func TestEraseContactLeavesNoTrace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		erin := func(ch, ext, key, text string, att []inbox.Attachment) inbox.IngestResult {
			f.tick()
			r, err := f.svc.Ingest(ctx, inbox.Inbound{ChannelID: ch, ExternalID: ext, Text: text, Attachments: att,
				Contact: inbox.ContactInfo{ExternalID: key, Name: erinName, Username: "erin", Email: erinEmail}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		a := erin("crm", "e1", "erin-crm", "hello, my code is "+erinText, []inbox.Attachment{
			{Name: erinText + ".txt", MIMEType: "text/plain", Data: []byte("file " + erinText)}})
		if _, err := f.svc.Reply(ctx, f.anna, a.ConversationID, "Dear "+erinName+", got "+erinText); err != nil {
			t.Fatal(err)
		}
		erin("crm", "e2", "erin-crm", "second "+erinText, nil)
		if _, err := f.svc.Act(ctx, f.anna, a.ConversationID, inbox.ActionClose); err != nil {
			t.Fatal(err)
		}
		b := erin("crm", "e3", "erin-crm", "a new one "+erinText, nil) // a later thread after close? same window: reopens
		w := erin("site", "erin-key/1", "erin-key", "widget "+erinText, nil)
		if err := f.st.CreateVisitor(ctx, "site", "erin-key", false, "hash-of-erins-token", f.now); err != nil {
			t.Fatal(err)
		}
		if err := f.st.InTx(ctx, func(tx inbox.Tx) error {
			c := queues.Contact{Queue: "support", ChannelID: "site", ConversationID: w.ConversationID, Name: erinName,
				Email: erinEmail, Message: "form " + erinText, Answers: map[string]string{"topic": erinText}, CreatedAt: f.now}
			if err := tx.(queues.ContactTx).InsertRegisteredContact(ctx, &c); err != nil {
				return err
			}
			return tx.InsertActivity(ctx, &inbox.Activity{Queue: "support", Kind: inbox.ActivityRegisteredContact,
				ConversationID: w.ConversationID, Data: map[string]string{"name": erinName, "email": erinEmail}, CreatedAt: f.now})
		}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.AddNotifications(ctx, []queues.Notification{{UserID: f.anna.ID, Kind: "new_chat",
			ConversationID: b.ConversationID, Queue: "support", Payload: []byte(`{"title":"` + erinName + `"}`), CreatedAt: f.now}}); err != nil {
			t.Fatal(err)
		}
		if err := f.st.MarkRead(ctx, f.anna.ID, a.ConversationID); err != nil {
			t.Fatal(err)
		}
		other := f.ingest("crm", "o1", "someone-else", "unrelated words stay")

		m := f.privacy(privacy.Policy{}, 0)
		contacts, err := m.FindContacts(ctx, privacy.Lookup{Email: strings.ToUpper(erinEmail)})
		if err != nil || len(contacts) != 2 {
			t.Fatalf("contacts by email: %+v %v", contacts, err)
		}
		// Export first: everything is there, and the record names no one.
		x, err := m.Export(ctx, privacy.Actor{User: f.owner, IP: "192.0.2.1"}, contacts[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if x.Contact.Email != erinEmail || len(x.Conversations) == 0 || len(x.Conversations[0].Messages) < 2 ||
			len(x.Conversations[0].Messages[0].Attachments) != 1 {
			t.Fatalf("export: %+v", x)
		}
		xw, err := m.Export(ctx, privacy.Actor{User: f.owner}, contacts[1].ID)
		if err != nil || len(xw.RegisteredContacts) != 1 || xw.RegisteredContacts[0].Answers["topic"] != erinText {
			t.Fatalf("widget contact's export: %+v %v", xw, err)
		}
		if _, err := m.Export(ctx, privacy.Actor{User: f.anna}, contacts[0].ID); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("an agent exports: %v", err)
		}
		if _, err := m.Erase(ctx, privacy.Actor{User: f.anna}, contacts[0].ID); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("an agent erases: %v", err)
		}
		needles := []string{erinName, erinEmail, erinText}
		if n := traces(t, f.st, needles); len(n) < 6 {
			t.Fatalf("before the erasure the person is in only %v: the check cannot fail", n)
		}

		f.events = nil
		var convs int64
		for _, c := range contacts {
			er, err := m.Erase(ctx, privacy.Actor{User: f.owner, IP: "192.0.2.1"}, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			convs += er.Counts.Conversations
			if er.Counts.Contacts != 1 {
				t.Fatalf("erasure: %+v", er)
			}
		}
		if convs < 2 || len(f.events) != int(convs) {
			t.Fatalf("%d conversations erased, %d events published", convs, len(f.events))
		}
		for _, e := range f.events {
			if e.Kind != privacy.EventConversationDeleted || string(e.Payload) != fmt.Sprintf(`{"id":%d}`, e.ConversationID) {
				t.Fatalf("event: %+v %s", e, e.Payload)
			}
		}
		if found := traces(t, f.st, needles); len(found) > 0 {
			t.Fatalf("the erased person is still in: %v", found)
		}
		if _, err := m.Erase(ctx, privacy.Actor{User: f.owner}, contacts[0].ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("erasing again: %v", err)
		}
		if _, err := m.Export(ctx, privacy.Actor{User: f.owner}, contacts[0].ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("exporting the erased: %v", err)
		}
		// The other customer is untouched, and still found by search.
		if f.conv(other.ConversationID).ID != other.ConversationID {
			t.Fatal("another customer's conversation is gone")
		}
		p, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Text: "unrelated", Limit: 10})
		if err != nil || len(p.Items) != 1 {
			t.Fatalf("search for the other customer: %+v %v", p, err)
		}
		if n := f.count(orphans); n != 0 {
			for _, part := range strings.Split(orphans[len("SELECT"):], "+") {
				t.Logf("%d: %s", f.count("SELECT "+strings.TrimSpace(part)), part)
			}
			t.Fatalf("%d rows left of erased conversations", n)
		}
		var audit []struct{ Action, TargetID, Data string }
		f.st.DB().Raw(`SELECT action, target_id, data FROM audit_log ORDER BY id`).Scan(&audit)
		if len(audit) != 4 || audit[2].Action != string(inbox.AuditContactErased) || audit[2].TargetID != fmt.Sprint(contacts[0].ID) ||
			!strings.Contains(audit[2].Data, `"messages":"`) {
			t.Fatalf("audit: %+v", audit)
		}
	})
}

// traces lists the tables (and columns) holding any of the needles,
// reading every table the catalog lists, raw bytes included.
func traces(t *testing.T, st *store.Store, needles []string) []string {
	t.Helper()
	db := st.DB()
	var found []string
	if st.Dialect() == store.Postgres {
		var tables []string
		if err := db.Raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
			AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		if len(tables) < 15 {
			t.Fatalf("the catalog lists only %v", tables)
		}
		for _, tb := range tables {
			for _, n := range needles {
				var k int64
				// The row as text; bytea columns show as hex.
				if err := db.Raw(`SELECT COUNT(*) FROM "`+tb+`" t WHERE strpos(lower(t::text), ?) > 0 OR strpos(t::text, ?) > 0`,
					n, hex.EncodeToString([]byte(n))).Scan(&k).Error; err != nil {
					t.Fatalf("%s: %v", tb, err)
				}
				if k > 0 {
					found = append(found, tb+": "+n)
				}
			}
		}
		return found
	}
	var tables []string
	if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if len(tables) < 15 {
		t.Fatalf("the catalog lists only %v", tables)
	}
	for _, tb := range tables {
		var cols []struct{ Name string }
		if err := db.Raw(`SELECT name FROM pragma_table_info(?)`, tb).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			for _, n := range needles {
				var k int64
				// Bytes, so that BLOBs (attachments, the search index's
				// segments) are searched whole, NULs and all.
				q := fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE instr(lower(CAST("%s" AS BLOB)), CAST(? AS BLOB)) > 0
					OR instr(CAST("%s" AS BLOB), CAST(? AS BLOB)) > 0`, tb, c.Name, c.Name)
				if err := db.Raw(q, n, n).Scan(&k).Error; err != nil {
					t.Fatalf("%s.%s: %v", tb, c.Name, err)
				}
				if k > 0 {
					found = append(found, tb+"."+c.Name+": "+n)
				}
			}
		}
	}
	return found
}
