package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// TestRecipientsAssignedAndMention: only the users named, whatever their
// presence, by their assigned/mention settings; never the actor.
func TestRecipientsAssignedAndMention(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	ids := func(us []*inbox.User) []int64 {
		var out []int64
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	mail := DefaultSettings()
	mail.Assigned.Email, mail.Mention.Email = true, true
	off := DefaultSettings()
	off.Assigned, off.Mention = Via{}, Via{}
	user := func(id int64, p inbox.Presence, queues ...string) *inbox.User {
		return &inbox.User{ID: id, Email: "u@example.com", Role: inbox.RoleAgent, Presence: p, Queues: queues}
	}
	agents := []Agent{
		{user(1, inbox.PresenceOnline, "support"), DefaultSettings()},
		{user(2, inbox.PresenceOffline, "support"), mail},
		{user(3, inbox.PresenceOnline, "support"), off},
		{user(4, inbox.PresenceOnline, "support"), DefaultSettings()}, // not named
	}
	for _, k := range []Kind{Assigned, Mention} {
		p := Recipients(Event{Kind: k, Queue: "support", Participants: []int64{1, 2, 3}, ActorID: 1}, agents, now, 0)
		if got := ids(p.InApp); !slices.Equal(got, []int64{2}) {
			t.Errorf("%s in-app: %v, want [2] (1 is the actor, 3 opted out, 4 not named)", k, got)
		}
		if got := ids(p.Email); !slices.Equal(got, []int64{2}) {
			t.Errorf("%s email: %v, want [2] (offline, but asked for email)", k, got)
		}
		if len(p.Missed) != 0 {
			t.Errorf("%s: nothing is batched: %v", k, ids(p.Missed))
		}
	}
}

func TestComposeAssignedAndMention(t *testing.T) {
	c := Content{PublicURL: "https://inbox.example.com", To: []string{"bob@example.com"}, QueueName: "Support",
		Conversation: &inbox.Conversation{ID: 7, Number: 12, Title: "Alice"}}
	m := Compose(Assigned, c)
	if m.Subject != "Assigned to you: #12: Alice" || m.Headers["X-Inboxd-Notification"] != "assigned" ||
		!strings.Contains(m.Text, "https://inbox.example.com/conversations/7") {
		t.Fatalf("assigned mail: %+v", m)
	}
	c.Messages = []inbox.Message{{Kind: inbox.KindNote, Direction: inbox.DirectionOut, AuthorName: "Anna", Text: "@Bob can you check?"}}
	m = Compose(Mention, c)
	if m.Subject != "You were mentioned in #12: Alice" || !strings.Contains(m.Text, "Anna:\n@Bob can you check?") {
		t.Fatalf("mention mail: %+v", m)
	}
}

// TestBatcherNeverTakesNotes: an emailed transcript never carries a note.
func TestBatcherNeverTakesNotes(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	var b Batcher
	b.Add(1, inbox.Message{ID: 1, ConversationID: 5, Direction: inbox.DirectionIn, Text: "hello"}, now)
	b.Add(1, inbox.Message{ID: 2, ConversationID: 5, Direction: inbox.DirectionOut, Kind: inbox.KindNote, Text: "secret"}, now)
	due := b.Due(now.Add(24 * time.Hour))
	if len(due) != 1 || len(due[0].Messages) != 1 || due[0].Messages[0].ID != 1 {
		t.Fatalf("transcripts %+v", due)
	}
	b.Add(1, inbox.Message{ID: 3, ConversationID: 6, Kind: inbox.KindNote, Text: "secret"}, now)
	if due := b.Due(now.Add(48 * time.Hour)); len(due) != 0 {
		t.Fatalf("a note alone made a transcript: %+v", due)
	}
}
