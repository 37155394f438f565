package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/queues"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

func TestQueueStore(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f := setup(t, d)
			ctx := context.Background()
			testAgents(t, f, ctx)
			testAdvanceQueue(t, f, ctx)
			testContactsAndNotifications(t, f, ctx)
			testWaitingAndAutoReply(t, f, ctx)
		})
	}
}

func testAgents(t *testing.T, f *fixture, ctx context.Context) {
	if err := f.st.SavePresence(ctx, f.anna.ID, inbox.PresenceOnline, &queues.Manual{Presence: inbox.PresenceOnline, At: f.now},
		[]inbox.Event{{Kind: inbox.EventPresenceChanged, Participants: []int64{f.anna.ID}, Payload: []byte(`{}`), CreatedAt: f.now}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAgentHours(ctx, f.bob.ID, hours.Config{Timezone: "Europe/Helsinki", Open: "0 9 * * *", Close: "0 17 * * *"}); err != nil {
		t.Fatal(err)
	}
	as, err := f.st.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 3 {
		t.Fatalf("agents: %+v", as)
	}
	byID := map[int64]queues.Agent{}
	for _, a := range as {
		byID[a.User.ID] = a
	}
	a, b := byID[f.anna.ID], byID[f.bob.ID]
	if a.User.Presence != inbox.PresenceOnline || a.Manual.Presence != inbox.PresenceOnline || !a.Manual.At.Equal(f.now) ||
		a.User.Email != "anna@example.com" || len(a.User.Queues) != 1 {
		t.Fatalf("anna: %+v", a)
	}
	if b.Hours.Open != "0 9 * * *" || b.Hours.Timezone != "Europe/Helsinki" || b.Manual.Presence != "" || b.User.Presence != inbox.PresenceOffline {
		t.Fatalf("bob: %+v", b)
	}
}

func testAdvanceQueue(t *testing.T, f *fixture, ctx context.Context) {
	st := &queues.QueueState{Override: hours.OverrideAuto, CheckedAt: f.now, Open: true}
	if ok, err := f.st.AdvanceQueue(ctx, "support", 0, st, nil, nil); err != nil || !ok || st.Version != 1 {
		t.Fatalf("insert: %v %v %+v", ok, err, st)
	}
	// A second insert (another replica) loses and writes nothing.
	again := &queues.QueueState{CheckedAt: f.now}
	if ok, err := f.st.AdvanceQueue(ctx, "support", 0, again, nil, nil); err != nil || ok {
		t.Fatalf("second insert: %v %v", ok, err)
	}
	later := f.now.Add(time.Hour)
	next := &queues.QueueState{Override: hours.OverrideClosed, OverrideAt: later, CheckedAt: later, Open: false}
	acts := []inbox.Activity{{Queue: "support", Kind: inbox.ActivityQueueClosed, CreatedAt: later}}
	evs := []inbox.Event{{Kind: inbox.EventQueueClosed, Queue: "support", Payload: []byte(`{}`), CreatedAt: later}}
	if ok, err := f.st.AdvanceQueue(ctx, "support", 1, next, acts, evs); err != nil || !ok || evs[0].ID == 0 || acts[0].ID == 0 {
		t.Fatalf("advance: %v %v %+v", ok, err, evs)
	}
	// A stale version loses: nothing recorded twice.
	stale := []inbox.Activity{{Queue: "support", Kind: inbox.ActivityQueueClosed, CreatedAt: later}}
	if ok, err := f.st.AdvanceQueue(ctx, "support", 1, &queues.QueueState{CheckedAt: later}, stale, nil); err != nil || ok || stale[0].ID != 0 {
		t.Fatalf("stale advance: %v %v", ok, err)
	}
	states, err := f.st.QueueStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := states["support"]
	if got.Version != 2 || got.Open || got.Override != hours.OverrideClosed || !got.CheckedAt.Equal(later) || !got.OverrideAt.Equal(later) {
		t.Fatalf("state: %+v", got)
	}
	acts2, _ := f.st.Activities(ctx, "support", 0, 10)
	n := 0
	for _, a := range acts2 {
		if a.Kind == inbox.ActivityQueueClosed {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d queue_closed activities", n)
	}
}

func testContactsAndNotifications(t *testing.T, f *fixture, ctx context.Context) {
	for i := 0; i < 3; i++ {
		c := &queues.Contact{Queue: "support", ChannelID: "site", ConversationID: int64(i + 1), Name: "N", Email: "n@example.com",
			Message: "m", Answers: map[string]string{"topic": "t" + string(rune('0'+i))}, CreatedAt: f.now}
		act := &inbox.Activity{Queue: "support", Kind: inbox.ActivityRegisteredContact, Data: map[string]string{"name": "N"}, CreatedAt: f.now}
		if err := f.st.SaveContact(ctx, c, act); err != nil || c.ID == 0 || act.ID == 0 {
			t.Fatalf("save contact: %v", err)
		}
	}
	page1, err := f.st.Contacts(ctx, "support", 0, 2)
	if err != nil || len(page1) != 2 || page1[0].Answers["topic"] != "t2" {
		t.Fatalf("contacts page 1: %v %+v", err, page1)
	}
	page2, err := f.st.Contacts(ctx, "support", page1[1].ID, 2)
	if err != nil || len(page2) != 1 || page2[0].Answers["topic"] != "t0" {
		t.Fatalf("contacts page 2: %v %+v", err, page2)
	}
	if other, _ := f.st.Contacts(ctx, "sales", 0, 10); len(other) != 0 {
		t.Fatalf("another queue's contacts: %+v", other)
	}
	ns := []queues.Notification{
		{UserID: f.anna.ID, Kind: "new_chat", ConversationID: 1, Queue: "support", Payload: []byte(`{"a":1}`), CreatedAt: f.now},
		{UserID: f.bob.ID, Kind: "new_chat", ConversationID: 1, Queue: "support", Payload: []byte(`{"b":1}`), CreatedAt: f.now},
		{UserID: f.anna.ID, Kind: "slow_chat", ConversationID: 1, Queue: "support", Payload: []byte(`{}`), CreatedAt: f.now},
	}
	if err := f.st.AddNotifications(ctx, ns); err != nil || ns[2].ID <= ns[0].ID {
		t.Fatalf("add notifications: %v %+v", err, ns)
	}
	got, err := f.st.NotificationsSince(ctx, f.anna.ID, ns[0].ID, 10)
	if err != nil || len(got) != 1 || got[0].Kind != "slow_chat" {
		t.Fatalf("anna's notifications: %v %+v", err, got)
	}
	if err := f.st.SetNotificationSettings(ctx, f.anna.ID, `{"invisible_slow_chats":true}`); err != nil {
		t.Fatal(err)
	}
	as, _ := f.st.Agents(ctx)
	for _, a := range as {
		if a.User.ID == f.anna.ID && a.Settings != `{"invisible_slow_chats":true}` {
			t.Fatalf("settings: %q", a.Settings)
		}
	}
}

func testWaitingAndAutoReply(t *testing.T, f *fixture, ctx context.Context) {
	r1 := f.ingest("crm", "w1", "c1", "first")
	first := f.now
	f.ingest("crm", "w2", "c1", "second")
	w, err := f.st.WaitingChats(ctx, 10)
	if err != nil || len(w) != 1 || w[0].ConversationID != r1.ConversationID || !w[0].Since.Equal(first) {
		t.Fatalf("waiting: %v %+v (want since %v)", err, w, first)
	}
	// The automatic answer neither ends the wait nor counts as the last
	// message before the customer's next one.
	f.tick()
	m, err := f.svc.AutoReply(ctx, inbox.AutoReplyRequest{ConversationID: r1.ConversationID, InboundID: r1.MessageID, Period: "p1", Text: "closed"})
	if err != nil || m == nil || !m.Auto || m.AuthorID != 0 {
		t.Fatalf("auto reply: %v %+v", err, m)
	}
	if again, err := f.svc.AutoReply(ctx, inbox.AutoReplyRequest{ConversationID: r1.ConversationID, InboundID: r1.MessageID, Period: "p1", Text: "closed"}); err != nil || again != nil {
		t.Fatalf("second auto reply in one period: %v %+v", err, again)
	}
	w, _ = f.st.WaitingChats(ctx, 10)
	if len(w) != 1 || !w[0].Since.Equal(first) {
		t.Fatalf("waiting after the automatic answer: %+v", w)
	}
	r3 := f.ingest("crm", "w3", "c1", "third")
	prevs, err := f.st.PreviousMessages(ctx, []inbox.MessageRef{{ConversationID: r1.ConversationID, MessageID: r3.MessageID},
		{ConversationID: r1.ConversationID, MessageID: r1.MessageID}})
	if prev := prevs[r3.MessageID]; err != nil || prev == nil || prev.Text != "second" || len(prevs) != 1 {
		t.Fatalf("previous messages: %v %+v", err, prevs)
	}
	if _, err := f.svc.Reply(ctx, f.anna, r1.ConversationID, "hello"); err != nil {
		t.Fatal(err)
	}
	if w, _ = f.st.WaitingChats(ctx, 10); len(w) != 0 {
		t.Fatalf("answered chat still waiting: %+v", w)
	}
	// Never in answer to a machine.
	f.tick()
	auto, err := f.svc.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: "ooo", Contact: inbox.ContactInfo{ExternalID: "bot"}, Text: "away", Auto: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.svc.AutoReply(ctx, inbox.AutoReplyRequest{ConversationID: auto.ConversationID, InboundID: auto.MessageID, Period: "p1", Text: "closed"}); err != nil || m != nil {
		t.Fatalf("answered a machine: %v %+v", err, m)
	}
}
