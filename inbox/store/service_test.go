package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

type fixture struct {
	t      *testing.T
	st     *store.Store
	svc    *inbox.Service
	j      *journal.Journal
	now    time.Time
	owner  *inbox.User
	anna   *inbox.User
	bob    *inbox.User
	events []inbox.Event
	mu     sync.Mutex
}

func (f *fixture) Publish(evs []inbox.Event) {
	f.mu.Lock()
	f.events = append(f.events, evs...)
	f.mu.Unlock()
}

var channels = []inbox.ChannelInfo{
	{ID: "crm", Kind: "webhook", Name: "CRM", Queue: "support"},
	{ID: "site", Kind: "widget", Name: "Website", Queue: "support", NamedByNumber: true},
	{ID: "sales", Kind: "webhook", Name: "Sales", Queue: "sales"},
}

func setup(t *testing.T, d store.Dialect) *fixture {
	f := &fixture{t: t, st: storetest.Open(t, d), now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	f.svc = inbox.NewService(inbox.Options{
		Store: f.st, Clock: inbox.ClockFunc(func() time.Time { return f.now }), Publisher: f,
		Channels: channels, ReopenWindow: 7 * 24 * time.Hour,
	})
	f.j = journal.New(f.st, channels)
	f.owner = f.user("owner@example.com", "Olga", inbox.RoleOwner, nil)
	f.anna = f.user("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	f.bob = f.user("bob@example.com", "Bob", inbox.RoleAgent, []string{"support"})
	return f
}

func (f *fixture) user(email, name string, role inbox.Role, queues []string) *inbox.User {
	u := &inbox.User{Email: email, Name: name, Role: role, Queues: queues, CreatedAt: f.now}
	if err := f.st.CreateUser(context.Background(), u, "x"); err != nil {
		f.t.Fatalf("create user: %v", err)
	}
	return u
}

func (f *fixture) tick() { f.now = f.now.Add(time.Second) }

func (f *fixture) ingest(ch, ext, contact, text string) inbox.IngestResult {
	f.t.Helper()
	f.tick()
	r, err := f.svc.Ingest(context.Background(), inbox.Inbound{ChannelID: ch, ExternalID: ext,
		Contact: inbox.ContactInfo{ExternalID: contact, Name: "Customer " + contact}, Text: text})
	if err != nil {
		f.t.Fatalf("ingest %s: %v", ext, err)
	}
	return r
}

func (f *fixture) conv(id int64) *journal.ConversationDetail {
	f.t.Helper()
	c, err := f.j.Conversation(context.Background(), f.owner, id)
	if err != nil {
		f.t.Fatalf("conversation %d: %v", id, err)
	}
	return c
}

func forEachDialect(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, setup(t, d)) })
	}
}

func TestConversationLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r := f.ingest("crm", "m1", "c1", "hello")
		if r.Duplicate || r.ConversationID == 0 {
			t.Fatalf("first ingest: %+v", r)
		}
		c := f.conv(r.ConversationID)
		if c.Status != inbox.StatusUnassigned || c.Number != 1 || c.Title != "Customer c1" {
			t.Fatalf("new conversation: %+v", c)
		}
		// Reply takes it.
		f.tick()
		if _, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "hi, Anna here"); err != nil {
			t.Fatalf("reply: %v", err)
		}
		c = f.conv(r.ConversationID)
		if c.Status != inbox.StatusActive || len(c.Participants) != 1 || c.Participants[0].ID != f.anna.ID {
			t.Fatalf("after reply: %+v", c)
		}
		// Bob must join first.
		_, err := f.svc.Reply(ctx, f.bob, r.ConversationID, "me too")
		if inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("non-participant reply: err = %v, want conflict", err)
		}
		if _, err := f.svc.Act(ctx, f.bob, r.ConversationID, inbox.ActionJoin); err != nil {
			t.Fatalf("join: %v", err)
		}
		if _, err := f.svc.Reply(ctx, f.bob, r.ConversationID, "me too"); err != nil {
			t.Fatalf("reply after join: %v", err)
		}
		// Close, then the customer writes again: reopened, same conversation.
		if _, err := f.svc.Act(ctx, f.anna, r.ConversationID, inbox.ActionClose); err != nil {
			t.Fatalf("close: %v", err)
		}
		if c = f.conv(r.ConversationID); c.Status != inbox.StatusInactive {
			t.Fatalf("after close: %s", c.Status)
		}
		r2 := f.ingest("crm", "m2", "c1", "one more thing")
		if r2.ConversationID != r.ConversationID {
			t.Fatalf("reopen went to conversation %d, want %d", r2.ConversationID, r.ConversationID)
		}
		// Anna and Bob are offline: reopened as unassigned.
		if c = f.conv(r.ConversationID); c.Status != inbox.StatusUnassigned {
			t.Fatalf("reopened status = %s, want unassigned (nobody online)", c.Status)
		}
		// A participant online: reopened as active.
		if _, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "back"); err != nil {
			t.Fatal(err)
		}
		f.svc.Act(ctx, f.anna, r.ConversationID, inbox.ActionClose)
		if err := f.st.SetPresence(ctx, f.anna.ID, inbox.PresenceInvisible); err != nil {
			t.Fatal(err)
		}
		f.ingest("crm", "m3", "c1", "again")
		if c = f.conv(r.ConversationID); c.Status != inbox.StatusActive {
			t.Fatalf("reopened with invisible participant = %s, want active", c.Status)
		}
		// After the reopen window: a new conversation.
		f.svc.Act(ctx, f.anna, r.ConversationID, inbox.ActionClose)
		f.now = f.now.Add(8 * 24 * time.Hour)
		r4 := f.ingest("crm", "m4", "c1", "new topic")
		if r4.ConversationID == r.ConversationID || f.conv(r4.ConversationID).Number != 2 {
			t.Fatalf("after the window: %+v", r4)
		}
		// Activity log holds every transition.
		acts, err := f.j.Activity(ctx, f.owner, "support", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[inbox.ActivityKind]int{}
		for _, a := range acts {
			kinds[a.Kind]++
		}
		for k, n := range map[inbox.ActivityKind]int{inbox.ActivityCreated: 2, inbox.ActivityAssigned: 2,
			inbox.ActivityJoined: 1, inbox.ActivityClosed: 3, inbox.ActivityReopened: 2} {
			if kinds[k] != n {
				t.Errorf("activity %s: %d entries, want %d (all: %v)", k, kinds[k], n, kinds)
			}
		}
	})
}

func TestLeave(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r := f.ingest("crm", "m1", "c1", "hello")
		f.svc.Reply(ctx, f.anna, r.ConversationID, "hi")
		f.svc.Act(ctx, f.bob, r.ConversationID, inbox.ActionJoin)
		if _, err := f.svc.Act(ctx, f.anna, r.ConversationID, inbox.ActionLeave); err != nil {
			t.Fatal(err)
		}
		c := f.conv(r.ConversationID)
		if c.Status != inbox.StatusActive || len(c.Participants) != 1 || c.Participants[0].ID != f.bob.ID {
			t.Fatalf("after owner left: %+v", c)
		}
		f.svc.Act(ctx, f.bob, r.ConversationID, inbox.ActionLeave)
		if c = f.conv(r.ConversationID); c.Status != inbox.StatusUnassigned || len(c.Participants) != 0 {
			t.Fatalf("after last left: %+v", c)
		}
		if _, err := f.svc.Act(ctx, f.bob, r.ConversationID, inbox.ActionLeave); inbox.ErrorCode(err) != inbox.EConflict {
			t.Fatalf("leave twice: %v", err)
		}
	})
}

func TestDuplicates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		first := f.ingest("crm", "dup", "c1", "hello")
		again := f.ingest("crm", "dup", "c1", "hello")
		if !again.Duplicate || again.MessageID != first.MessageID {
			t.Fatalf("retry: %+v, first %+v", again, first)
		}
		// 20 concurrent duplicates of a new message from a new contact.
		var wg sync.WaitGroup
		var dups atomic.Int32
		ids := make([]int64, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, err := f.svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: "race",
					Contact: inbox.ContactInfo{ExternalID: "c2"}, Text: "same"})
				errs[i], ids[i] = err, r.MessageID
				if r.Duplicate {
					dups.Add(1)
				}
			}(i)
		}
		wg.Wait()
		for i := range 20 {
			if errs[i] != nil {
				t.Fatalf("concurrent ingest %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("concurrent ingest %d got message %d, want %d", i, ids[i], ids[0])
			}
		}
		if dups.Load() != 19 {
			t.Fatalf("%d duplicates reported, want 19", dups.Load())
		}
		p, err := f.j.List(ctx, journal.Query{Viewer: f.owner})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 2 {
			t.Fatalf("%d conversations, want 2", len(p.Items))
		}
		ms, _ := f.st.Messages(ctx, ids[0], 0, 100)
		for _, it := range p.Items {
			if it.ID == ids[0] {
				continue
			}
		}
		total := 0
		for _, it := range p.Items {
			m, _ := f.st.Messages(ctx, it.ID, 0, 100)
			total += len(m)
		}
		if total != 2 {
			t.Fatalf("%d messages stored, want 2 (%v)", total, ms)
		}
	})
}

func TestJournalOrderAndCursor(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for i := range 7 {
			f.ingest("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i), fmt.Sprintf("text %d", i))
		}
		// The oldest gets new activity: it moves to the top.
		f.ingest("crm", "late", "c0", "bump")
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			q := journal.Query{Viewer: f.owner, Limit: 3}
			if cursor != "" {
				c, err := journal.DecodeCursor(cursor)
				if err != nil {
					t.Fatal(err)
				}
				q.After = &c
			}
			p, err := f.j.List(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				got = append(got, it.Title)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
			if pages > 5 {
				t.Fatal("cursor does not end")
			}
		}
		want := []string{"Customer c0", "Customer c6", "Customer c5", "Customer c4", "Customer c3", "Customer c2", "Customer c1"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("journal order\n got %v\nwant %v", got, want)
		}
		// Filters and search.
		p, _ := f.j.List(ctx, journal.Query{Viewer: f.owner, Text: "BUMP"})
		if len(p.Items) != 1 || p.Items[0].Title != "Customer c0" {
			t.Fatalf("search: %+v", p.Items)
		}
		p, _ = f.j.List(ctx, journal.Query{Viewer: f.owner, Text: "100%"})
		if len(p.Items) != 0 {
			t.Fatalf("search with %% matched %d", len(p.Items))
		}
		f.svc.Reply(ctx, f.anna, p2id(t, f, "Customer c3"), "taking it")
		p, _ = f.j.List(ctx, journal.Query{Viewer: f.owner, Status: inbox.StatusActive})
		if len(p.Items) != 1 || p.Items[0].Title != "Customer c3" || p.Items[0].Participants[0].Name != "Anna" {
			t.Fatalf("status filter: %+v", p.Items)
		}
		p, _ = f.j.List(ctx, journal.Query{Viewer: f.owner, AgentID: f.anna.ID})
		if len(p.Items) != 1 {
			t.Fatalf("agent filter: %d items", len(p.Items))
		}
		// Agents cannot see the journal; they see their own and the queue.
		if _, err := f.j.List(ctx, journal.Query{Viewer: f.bob}); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("agent journal: %v", err)
		}
		p, _ = f.j.List(ctx, journal.Query{Viewer: f.anna, Scope: journal.ScopeMine})
		if len(p.Items) != 1 {
			t.Fatalf("mine: %d", len(p.Items))
		}
		p, _ = f.j.List(ctx, journal.Query{Viewer: f.bob, Scope: journal.ScopeQueue})
		if len(p.Items) != 6 {
			t.Fatalf("queue: %d, want 6 unassigned", len(p.Items))
		}
		if _, err := f.j.Conversation(ctx, f.bob, p2id(t, f, "Customer c3")); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("bob sees anna's conversation: %v", err)
		}
	})
}

func p2id(t *testing.T, f *fixture, title string) int64 {
	p, err := f.j.List(context.Background(), journal.Query{Viewer: f.owner, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.Title == title {
			return it.ID
		}
	}
	t.Fatalf("no conversation %q", title)
	return 0
}

type flakySender struct {
	mu    sync.Mutex
	fails int
	sent  []inbox.Outbound
	err   error
}

func (s *flakySender) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails > 0 {
		s.fails--
		return inbox.SendResult{}, s.err
	}
	s.sent = append(s.sent, out)
	return inbox.SendResult{ProviderID: fmt.Sprintf("p%d", out.MessageID)}, nil
}

func TestOutbox(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		s := &flakySender{fails: 2, err: inbox.RetryAfter(errors.New("slow down"), 30*time.Second)}
		d := inbox.NewDispatcher(inbox.DispatcherOptions{Store: f.st, Service: f.svc,
			Senders: map[string]inbox.Sender{"crm": s}, Clock: inbox.ClockFunc(func() time.Time { return f.now }),
			BaseDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 5})
		r := f.ingest("crm", "m1", "c1", "hello")
		m, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "first")
		if err != nil {
			t.Fatal(err)
		}
		m2, _ := f.svc.Reply(ctx, f.anna, r.ConversationID, "second")
		if n, err := d.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("first scan: %d, %v (only the oldest of a conversation is claimed)", n, err)
		}
		// Retry-after is honoured: nothing is due 29 s later.
		f.now = f.now.Add(29 * time.Second)
		if n, _ := d.RunOnce(ctx); n != 0 {
			t.Fatalf("claimed %d before retry-after", n)
		}
		f.now = f.now.Add(2 * time.Second)
		d.RunOnce(ctx) // second failure
		f.now = f.now.Add(31 * time.Second)
		d.RunOnce(ctx) // first succeeds
		f.now = f.now.Add(time.Second)
		d.RunOnce(ctx) // second succeeds
		if len(s.sent) != 2 || s.sent[0].Text != "first" || s.sent[1].Text != "second" {
			t.Fatalf("sent %+v", s.sent)
		}
		if s.sent[0].Attempt != 3 || s.sent[0].Contact.ExternalID != "c1" || len(s.sent[0].Thread) != 1 {
			t.Fatalf("outbound: %+v", s.sent[0])
		}
		ms, _ := f.st.Messages(ctx, r.ConversationID, 0, 10)
		for _, x := range ms[1:] {
			if x.Delivery != inbox.DeliverySent || x.ProviderID == "" {
				t.Fatalf("message %d: %s %q", x.ID, x.Delivery, x.ProviderID)
			}
		}
		if n, _ := d.RunOnce(ctx); n != 0 {
			t.Fatalf("outbox not empty: %d", n)
		}
		// Permanent errors fail at once and can be retried by an agent.
		s.fails, s.err = 1, inbox.Permanent(errors.New("bad recipient"))
		m3, _ := f.svc.Reply(ctx, f.anna, r.ConversationID, "third")
		d.RunOnce(ctx)
		ms, _ = f.st.Messages(ctx, r.ConversationID, m2.ID, 10)
		if ms[0].Delivery != inbox.DeliveryFailed || ms[0].Error == "" {
			t.Fatalf("after permanent error: %s %q", ms[0].Delivery, ms[0].Error)
		}
		if _, err := f.svc.RetryFailed(ctx, f.anna, m3.ID); err != nil {
			t.Fatal(err)
		}
		d.RunOnce(ctx)
		if len(s.sent) != 3 {
			t.Fatalf("retried reply not sent: %d", len(s.sent))
		}
		// Delivery reports move forward only.
		f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{{ChannelID: "crm", ProviderID: fmt.Sprintf("p%d", m.ID), State: inbox.DeliveryRead}})
		f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{{ChannelID: "crm", ProviderID: fmt.Sprintf("p%d", m.ID), State: inbox.DeliveryDelivered}})
		ms, _ = f.st.Messages(ctx, r.ConversationID, 0, 2)
		if ms[1].Delivery != inbox.DeliveryRead {
			t.Fatalf("delivery went backwards: %s", ms[1].Delivery)
		}
	})
}

func TestBatchCursorAndEdit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		batch := []inbox.Inbound{
			{ChannelID: "crm", ExternalID: "b1", Contact: inbox.ContactInfo{ExternalID: "c1", Username: "kat"}, Text: "one"},
			{ChannelID: "crm", ExternalID: "b2", Contact: inbox.ContactInfo{ExternalID: "c1"}, Text: "two"},
		}
		if _, err := f.svc.IngestBatch(ctx, batch, &inbox.Cursor{ChannelID: "crm", Key: "offset", Value: "42"}); err != nil {
			t.Fatal(err)
		}
		if v, _ := f.svc.Cursor(ctx, "crm", "offset"); v != "42" {
			t.Fatalf("cursor = %q", v)
		}
		// A batch with an invalid message stores nothing, cursor included.
		bad := append(batch[:1:1], inbox.Inbound{ChannelID: "crm", ExternalID: "b3", Contact: inbox.ContactInfo{ExternalID: "c1"}})
		if _, err := f.svc.IngestBatch(ctx, bad, &inbox.Cursor{ChannelID: "crm", Key: "offset", Value: "43"}); err == nil {
			t.Fatal("invalid batch accepted")
		}
		if v, _ := f.svc.Cursor(ctx, "crm", "offset"); v != "42" {
			t.Fatalf("cursor moved on a failed batch: %q", v)
		}
		r, err := f.svc.Ingest(ctx, inbox.Inbound{Kind: inbox.InboundEdit, ChannelID: "crm", ExternalID: "b1",
			Contact: inbox.ContactInfo{ExternalID: "c1"}, Text: "one (edited)"})
		if err != nil || r.Duplicate {
			t.Fatalf("edit: %+v %v", r, err)
		}
		ms, _ := f.st.Messages(ctx, r.ConversationID, 0, 10)
		if len(ms) != 2 || ms[0].Text != "one (edited)" || ms[0].EditedAt.IsZero() {
			t.Fatalf("after edit: %+v", ms)
		}
		if c := f.conv(r.ConversationID); c.Title != "@kat" {
			t.Fatalf("title = %q, want the nickname", c.Title)
		}
	})
}

func TestWidgetTitleAndAttachments(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		r, err := f.svc.Ingest(ctx, inbox.Inbound{ChannelID: "site", ExternalID: "w1", Contact: inbox.ContactInfo{ExternalID: "v1", Name: "Visitor"},
			Attachments: []inbox.Attachment{{Name: "a.txt", MIMEType: "text/plain", Data: []byte("hello")}}})
		if err != nil {
			t.Fatal(err)
		}
		c := f.conv(r.ConversationID)
		if c.Title != fmt.Sprintf("#%d", c.Number) || c.Preview != "[a.txt]" {
			t.Fatalf("widget conversation: %+v", c)
		}
		ms, _ := f.st.Messages(ctx, r.ConversationID, 0, 10)
		a, _, err := f.j.Attachment(ctx, f.owner, ms[0].Attachments[0].ID)
		if err != nil || string(a.Data) != "hello" || a.Size != 5 {
			t.Fatalf("attachment: %+v %v", a, err)
		}
		if _, _, err := f.j.Attachment(ctx, &inbox.User{ID: 99, Role: inbox.RoleAgent, Queues: []string{"sales"}}, a.ID); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("foreign agent reads attachment: %v", err)
		}
	})
}

func TestEventsWrittenAndPublished(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.ingest("crm", "m1", "c1", "hello")
		evs, err := f.st.EventsSince(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || len(f.events) != 2 || evs[1].ID != f.events[1].ID || evs[1].Kind != inbox.EventMessageCreated {
			t.Fatalf("stored %+v\npublished %+v", evs, f.events)
		}
		evs2, _ := f.st.EventsSince(ctx, evs[0].ID, 100)
		if len(evs2) != 1 {
			t.Fatalf("since: %d", len(evs2))
		}
	})
}

func TestSchemaVersionGuard(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			if err := st.CheckSchema(ctx); err != nil {
				t.Fatalf("fresh schema: %v", err)
			}
			st.DB().Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 'x')`)
			if err := st.CheckSchema(ctx); err == nil {
				t.Fatal("newer schema accepted")
			}
			if _, err := st.Migrate(ctx); err == nil {
				t.Fatal("migrate accepted a newer schema")
			}
		})
	}
}

func TestNULStripped(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		r, err := f.svc.Ingest(context.Background(), inbox.Inbound{ChannelID: "crm", ExternalID: "n\x001",
			Contact: inbox.ContactInfo{ExternalID: "c\x001", Name: "Nu\x00l"}, Text: "a\x00b"})
		if err != nil {
			t.Fatalf("NUL in input: %v", err)
		}
		ms, _ := f.st.Messages(context.Background(), r.ConversationID, 0, 10)
		if len(ms) != 1 || ms[0].Text != "ab" || ms[0].ExternalID != "n1" {
			t.Fatalf("stored %+v", ms)
		}
	})
}

func TestGroupCommit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f.svc.StartGroupCommit(ctx, 2, 16, 0)
		var wg sync.WaitGroup
		results := make([]inbox.IngestResult, 60)
		errs := make([]error, 60)
		for i := range 60 {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				in := inbox.Inbound{ChannelID: "crm", ExternalID: fmt.Sprintf("g%d", i%50),
					Contact: inbox.ContactInfo{ExternalID: fmt.Sprintf("c%d", i%7)}, Text: "group"}
				if i == 55 {
					in.ChannelID = "nope" // refused alone (its twin, i = 5, is stored)
				}
				results[i], errs[i] = f.svc.Ingest(ctx, in)
			}(i)
		}
		wg.Wait()
		fresh := 0
		for i := range 60 {
			if i == 55 {
				if inbox.ErrorCode(errs[i]) != inbox.EInvalid {
					t.Fatalf("bad message: %v", errs[i])
				}
				continue
			}
			if errs[i] != nil {
				t.Fatalf("message %d: %v", i, errs[i])
			}
			if !results[i].Duplicate {
				fresh++
			}
		}
		if fresh != 50 {
			t.Fatalf("%d fresh messages, want 50 (10 duplicates)", fresh)
		}
		evs, _ := f.st.EventsSince(ctx, 0, 1000)
		if len(evs) != 2*50 || len(f.events) != len(evs) {
			t.Fatalf("events stored %d, published %d, want %d (2 per message)", len(evs), len(f.events), 100)
		}
		// A caller that gives up before its turn is not stored.
		gone, cancelGone := context.WithCancel(ctx)
		cancelGone()
		if _, err := f.svc.Ingest(gone, inbox.Inbound{ChannelID: "crm", ExternalID: "late",
			Contact: inbox.ContactInfo{ExternalID: "c1"}, Text: "x"}); err == nil {
			t.Fatal("cancelled ingest reported success")
		}
		if m, _ := f.st.Messages(ctx, 1, 0, 1000); len(m) == 0 {
			t.Fatal("no messages")
		}
	})
}
