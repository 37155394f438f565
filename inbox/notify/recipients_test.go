package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// team is a queue "support" with agents in every relevant situation.
func team() []Agent {
	def := DefaultSettings()
	allEmail := Settings{
		NewChat: Via{true, true}, RegisteredContact: Via{true, true},
		MyConversation: Via{true, true}, MissedWhileOffline: Via{true, true},
	}
	slow := allEmail
	slow.InvisibleSlowChats = true
	quiet := Settings{} // opted out of everything
	user := func(id int64, p inbox.Presence, email string, queues ...string) *inbox.User {
		return &inbox.User{ID: id, Email: email, Name: "agent", Role: inbox.RoleAgent, Presence: p, Queues: queues}
	}
	return []Agent{
		{user(1, inbox.PresenceOnline, "a1@example.com"), def},
		{user(2, inbox.PresenceOnline, "a2@example.com", "support"), allEmail},
		{user(3, inbox.PresenceInvisible, "a3@example.com"), slow},
		{user(4, inbox.PresenceInvisible, "a4@example.com"), allEmail}, // no slow option
		{user(5, inbox.PresenceOffline, "a5@example.com"), def},        // missed by email
		{user(6, inbox.PresenceOffline, "a6@example.com"), quiet},      // opted out
		{user(7, inbox.PresenceOnline, "a7@example.com", "sales"), allEmail},
		{user(8, inbox.PresenceOnline, "", "support"), allEmail}, // no address
		{user(9, "", "a9@example.com"), def},                     // unknown presence: offline
	}
}

func TestRecipients(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	fresh := now.Add(-30 * time.Second)
	waited := now.Add(-2 * time.Minute)
	tests := []struct {
		name                string
		ev                  Event
		slowAfter           time.Duration
		inApp, email, missd []int64
	}{
		{
			name:  "new chat: online by setting, invisible not yet, offline missed",
			ev:    Event{Kind: NewChat, Queue: "support", WaitingSince: fresh},
			inApp: []int64{1, 2, 5, 8, 9}, email: []int64{2}, missd: []int64{5, 9},
		},
		{
			name:  "new chat that already waited slow_after: invisible with the option too",
			ev:    Event{Kind: NewChat, Queue: "support", WaitingSince: waited},
			inApp: []int64{1, 2, 3, 5, 8, 9}, email: []int64{2, 3}, missd: []int64{5, 9},
		},
		{
			name:      "new chat, slow_after configured longer",
			ev:        Event{Kind: NewChat, Queue: "support", WaitingSince: waited},
			slowAfter: 5 * time.Minute,
			inApp:     []int64{1, 2, 5, 8, 9}, email: []int64{2}, missd: []int64{5, 9},
		},
		{
			name:  "new chat in sales: only who serves it",
			ev:    Event{Kind: NewChat, Queue: "sales", WaitingSince: fresh},
			inApp: []int64{1, 5, 7, 9}, email: []int64{7}, missd: []int64{5, 9},
		},
		{
			name: "slow chat before slow_after: nobody",
			ev:   Event{Kind: SlowChat, Queue: "support", WaitingSince: fresh},
		},
		{
			name:  "slow chat after slow_after: invisible with the option only",
			ev:    Event{Kind: SlowChat, Queue: "support", WaitingSince: waited},
			inApp: []int64{3}, email: []int64{3},
		},
		{
			name:  "slow chat exactly at slow_after",
			ev:    Event{Kind: SlowChat, Queue: "support", WaitingSince: now.Add(-DefaultSlowAfter)},
			inApp: []int64{3}, email: []int64{3},
		},
		{
			name:  "my conversation: participants only, invisible included, offline missed",
			ev:    Event{Kind: MyConversation, Queue: "support", Participants: []int64{2, 4, 5, 6, 7}},
			inApp: []int64{2, 4, 5, 7}, email: []int64{2, 4, 7}, missd: []int64{5},
		},
		{
			name:  "my conversation: the author is not told",
			ev:    Event{Kind: MyConversation, Queue: "support", Participants: []int64{1, 2}, ActorID: 2},
			inApp: []int64{1},
		},
		{
			name:  "registered contact: whoever serves the queue, whatever the presence",
			ev:    Event{Kind: RegisteredContact, Queue: "support"},
			inApp: []int64{1, 2, 3, 4, 5, 8, 9}, email: []int64{1, 2, 3, 4, 5, 9},
		},
		{
			name: "missed_while_offline is no event of its own",
			ev:   Event{Kind: MissedWhileOffline, Queue: "support"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recipients(tt.ev, team(), now, tt.slowAfter)
			check := func(list string, got []*inbox.User, want []int64) {
				var ids []int64
				for _, u := range got {
					ids = append(ids, u.ID)
				}
				if !slices.Equal(ids, want) {
					t.Errorf("%s = %v, want %v", list, ids, want)
				}
			}
			check("InApp", p.InApp, tt.inApp)
			check("Email", p.Email, tt.email)
			check("Missed", p.Missed, tt.missd)
			if p.Empty() != (len(tt.inApp)+len(tt.email)+len(tt.missd) == 0) {
				t.Errorf("Empty() = %v", p.Empty())
			}
		})
	}
}

func TestRecipientsSkipsNilUsers(t *testing.T) {
	p := Recipients(Event{Kind: RegisteredContact}, []Agent{{Settings: DefaultSettings()}}, time.Now(), 0)
	if !p.Empty() {
		t.Fatalf("got %+v", p)
	}
}
