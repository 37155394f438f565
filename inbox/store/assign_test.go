package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// assignFixture is the service fixture with the queues configured (the
// targets of transfers) and an agent of the sales queue.
func assignFixture(t *testing.T, d store.Dialect) (*fixture, *inbox.User) {
	f := setup(t, d)
	f.svc = inbox.NewService(inbox.Options{
		Store: f.st, Clock: inbox.ClockFunc(func() time.Time { return f.now }), Publisher: f,
		Channels: channels, ReopenWindow: 7 * 24 * time.Hour, Queues: []string{"support", "sales"},
	})
	carl := f.user("carl@example.com", "Carl", inbox.RoleAgent, []string{"sales"})
	return f, carl
}

func listIDs(t *testing.T, f *fixture, q journal.Query) []int64 {
	t.Helper()
	p, err := f.j.List(context.Background(), q)
	if err != nil {
		t.Fatalf("list %+v: %v", q, err)
	}
	var ids []int64
	for _, it := range p.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func (f *fixture) eventsSince(n int) []inbox.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]inbox.Event(nil), f.events[n:]...)
}

func (f *fixture) eventCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

func TestAssignAndTransfer(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f, carl := assignFixture(t, d)
			ctx := context.Background()
			id := f.ingest("crm", "m1", "c1", "hello").ConversationID
			mine := func(u *inbox.User) []int64 { return listIDs(t, f, journal.Query{Viewer: u, Scope: journal.ScopeMine}) }
			queue := func(u *inbox.User) []int64 { return listIDs(t, f, journal.Query{Viewer: u, Scope: journal.ScopeQueue}) }
			byAgent := func(u *inbox.User) []int64 {
				return listIDs(t, f, journal.Query{Viewer: f.owner, Scope: journal.ScopeAll, AgentID: u.ID})
			}

			// An agent takes an unassigned chat of its queue for itself.
			f.tick()
			if _, err := f.svc.Assign(ctx, f.anna, id, inbox.AssignRequest{UserID: f.anna.ID}); err != nil {
				t.Fatalf("take: %v", err)
			}
			if c := f.conv(id); c.Status != inbox.StatusActive || len(c.Participants) != 1 || c.Participants[0].ID != f.anna.ID {
				t.Fatalf("after take: %+v", c)
			}
			// But cannot give another's... Bob does not take part.
			if _, err := f.svc.Assign(ctx, f.bob, id, inbox.AssignRequest{UserID: f.bob.ID}); inbox.ErrorCode(err) != inbox.EForbidden {
				t.Fatalf("bob takes anna's: %v, want forbidden", err)
			}

			// Anna hands it to Bob with a note: it moves from her lists to his.
			n := f.eventCount()
			f.tick()
			if _, err := f.svc.Assign(ctx, f.anna, id, inbox.AssignRequest{UserID: f.bob.ID, Note: "VIP, be nice"}); err != nil {
				t.Fatalf("hand over: %v", err)
			}
			if c := f.conv(id); c.Status != inbox.StatusActive || len(c.Participants) != 1 || c.Participants[0].ID != f.bob.ID {
				t.Fatalf("after hand-over: %+v", c)
			}
			if got := mine(f.bob); !slices.Equal(got, []int64{id}) {
				t.Errorf("bob's view=mine: %v", got)
			}
			if got := mine(f.anna); len(got) != 0 {
				t.Errorf("anna's view=mine still lists %v", got)
			}
			if got := byAgent(f.bob); !slices.Equal(got, []int64{id}) {
				t.Errorf("journal ?agent=bob: %v", got)
			}
			if got := byAgent(f.anna); len(got) != 0 {
				t.Errorf("journal ?agent=anna: %v", got)
			}
			// Events: the old state's viewers (Anna) and the new (Bob) are
			// both told; the assignee gets conversation.assigned.
			var kinds []inbox.EventKind
			var annaTold, bobTold bool
			for _, e := range f.eventsSince(n) {
				kinds = append(kinds, e.Kind)
				if e.Kind == inbox.EventConversationUpdated {
					annaTold = annaTold || e.Visible(f.anna)
					bobTold = bobTold || e.Visible(f.bob)
				}
			}
			if !annaTold || !bobTold {
				t.Errorf("conversation.updated visible to anna=%v bob=%v, want both", annaTold, bobTold)
			}
			if !slices.Contains(kinds, inbox.EventConversationAssigned) || !slices.Contains(kinds, inbox.EventMessageCreated) {
				t.Errorf("event kinds %v", kinds)
			}
			msgs, err := f.j.Messages(ctx, f.bob, id, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			last := msgs.Items[len(msgs.Items)-1]
			if last.Kind != inbox.KindNote || last.Text != "VIP, be nice" || last.Author.ID != f.anna.ID {
				t.Errorf("hand-over note: %+v", last)
			}

			// 409s that say why.
			if _, err := f.svc.Assign(ctx, f.owner, id, inbox.AssignRequest{UserID: carl.ID}); inbox.ErrorCode(err) != inbox.EConflict ||
				inbox.ErrorMessage(err) != `Carl does not serve the queue "support"` {
				t.Errorf("assign to carl: %v", err)
			}
			if err := f.st.DB().Exec(`UPDATE users SET deactivated_at = ? WHERE id = ?`, f.now, f.anna.ID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Assign(ctx, f.owner, id, inbox.AssignRequest{UserID: f.anna.ID}); inbox.ErrorCode(err) != inbox.EConflict {
				t.Errorf("assign to deactivated anna: %v", err)
			}
			if _, err := f.svc.Assign(ctx, f.owner, id, inbox.AssignRequest{UserID: 9999}); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Errorf("assign to nobody: %v", err)
			}

			// Bob transfers it to sales: gone from support, waiting in sales.
			f.tick()
			n = f.eventCount()
			if _, err := f.svc.Assign(ctx, f.bob, id, inbox.AssignRequest{Queue: "sales"}); err != nil {
				t.Fatalf("transfer: %v", err)
			}
			// Both queues' feeds learn of it: Bob (and support) by the old
			// state's event, Carl (sales) by the new one; same payload.
			var bobTold2, carlTold bool
			for _, e := range f.eventsSince(n) {
				if e.Kind == inbox.EventConversationUpdated {
					bobTold2 = bobTold2 || e.Visible(f.bob)
					carlTold = carlTold || e.Visible(carl)
					if !strings.Contains(string(e.Payload), `"queue":"sales"`) {
						t.Errorf("transfer event payload: %s", e.Payload)
					}
				}
			}
			if !bobTold2 || !carlTold {
				t.Errorf("transfer events visible to bob=%v carl=%v, want both", bobTold2, carlTold)
			}
			c := f.conv(id)
			if c.Queue != "sales" || c.Status != inbox.StatusUnassigned || len(c.Participants) != 0 {
				t.Fatalf("after transfer: %+v", c)
			}
			if got := mine(f.bob); len(got) != 0 {
				t.Errorf("bob's view=mine after transfer: %v", got)
			}
			if got := queue(f.bob); len(got) != 0 {
				t.Errorf("bob's view=queue lists the transferred conversation: %v", got)
			}
			if got := queue(carl); !slices.Equal(got, []int64{id}) {
				t.Errorf("carl's view=queue: %v", got)
			}
			if _, err := f.j.Conversation(ctx, f.bob, id); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Errorf("bob still sees it: %v", err)
			}

			// The activity log holds who, from, to.
			acts, err := f.j.Activity(ctx, f.owner, "", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var handed, moved *inbox.Activity
			for i := range acts {
				a := &acts[i]
				switch {
				case a.Kind == inbox.ActivityAssigned && a.Data["to"] == "Bob":
					handed = a
				case a.Kind == inbox.ActivityTransferred:
					moved = a
				}
			}
			if handed == nil || handed.ActorName != "Anna" || handed.Data["from"] != "Anna" {
				t.Errorf("hand-over activity: %+v", handed)
			}
			if moved == nil || moved.ActorName != "Bob" || moved.Data["from_queue"] != "support" || moved.Data["to_queue"] != "sales" {
				t.Errorf("transfer activity: %+v", moved)
			}
		})
	}
}

func TestNotes(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			f, carl := assignFixture(t, d)
			ctx := context.Background()
			id := f.ingest("crm", "m1", "c1", "hello").ConversationID

			// A note does not take an unassigned conversation.
			f.tick()
			m, err := f.svc.AddNote(ctx, f.anna, id, inbox.NoteRequest{Text: " @Bob can you take this? ", Mentions: []int64{f.bob.ID, f.bob.ID}})
			if err != nil {
				t.Fatalf("note: %v", err)
			}
			if m.Kind != inbox.KindNote || m.Text != "@Bob can you take this?" || len(m.Mentions) != 1 || m.Mentions[0].Name != "Bob" {
				t.Fatalf("note %+v", m)
			}
			if c := f.conv(id); c.Status != inbox.StatusUnassigned || len(c.Participants) != 0 || c.Preview != "hello" {
				t.Fatalf("after note: %+v", c)
			}
			var outbox int64
			if err := f.st.DB().Raw(`SELECT COUNT(*) FROM outbox`).Scan(&outbox).Error; err != nil || outbox != 0 {
				t.Fatalf("outbox rows after a note: %d, %v", outbox, err)
			}
			// Read back with kind and mentions.
			ms, err := f.st.Messages(ctx, id, 0, 10)
			if err != nil || len(ms) != 2 || !ms[1].IsNote() || ms[1].IsNote() == ms[0].IsNote() ||
				len(ms[1].Mentions) != 1 || ms[1].Mentions[0].ID != f.bob.ID {
				t.Fatalf("stored messages %+v, %v", ms, err)
			}
			page, err := f.j.Messages(ctx, f.bob, id, "", 10)
			if err != nil || page.Items[0].Kind != inbox.KindMessage || page.Items[1].Kind != inbox.KindNote {
				t.Fatalf("journal messages %+v, %v", page, err)
			}
			// A note is not an answer: the chat still waits.
			waiting, err := f.st.WaitingChats(ctx, 10)
			if err != nil || len(waiting) != 1 || waiting[0].ConversationID != id {
				t.Fatalf("waiting chats after a note: %+v, %v", waiting, err)
			}
			// Nor the message before the customer's next one.
			r2 := f.ingest("crm", "m2", "c1", "anyone?")
			prev, err := f.st.PreviousMessages(ctx, []inbox.MessageRef{{ConversationID: id, MessageID: r2.MessageID}})
			if err != nil || prev[r2.MessageID] == nil || prev[r2.MessageID].IsNote() {
				t.Fatalf("previous of the next message: %+v, %v", prev[r2.MessageID], err)
			}

			// Mentions are checked.
			for _, bad := range [][]int64{{carl.ID}, {9999}, {-1}} {
				if _, err := f.svc.AddNote(ctx, f.anna, id, inbox.NoteRequest{Text: "x", Mentions: bad}); inbox.ErrorCode(err) != inbox.EInvalid {
					t.Errorf("mentions %v: %v, want invalid", bad, err)
				}
			}
			if _, err := f.svc.AddNote(ctx, f.anna, id, inbox.NoteRequest{Text: "  "}); inbox.ErrorCode(err) != inbox.EInvalid {
				t.Errorf("empty note: %v", err)
			}
			// Another queue's agent cannot write one (not found, as if absent).
			if _, err := f.svc.AddNote(ctx, carl, id, inbox.NoteRequest{Text: "hi"}); inbox.ErrorCode(err) != inbox.ENotFound {
				t.Errorf("carl's note: %v", err)
			}
		})
	}
}
