package queues

import (
	"context"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
)

// Store is the persistence this package needs (inbox/store implements it).
// Every method that writes events writes them in the same transaction as
// the change, assigning their IDs; the caller publishes them after.
type Store interface {
	// QueueStates returns the recorded state of every queue seen so far.
	QueueStates(ctx context.Context) (map[string]QueueState, error)
	// AdvanceQueue records a queue's check: st replaces the state whose
	// Version is prevVersion (st.Version is set to the new one), with its
	// activities and events. A queue without a row is inserted when
	// prevVersion is 0. It returns false, writing nothing, when another
	// writer (another replica) advanced the queue first.
	AdvanceQueue(ctx context.Context, queue string, prevVersion int64, st *QueueState, acts []inbox.Activity, evs []inbox.Event) (bool, error)

	// Agents returns every user with what presence and notifications need.
	Agents(ctx context.Context) ([]Agent, error)
	// SavePresence stores a user's presence; manual, when not nil, records
	// it as the user's own choice.
	SavePresence(ctx context.Context, userID int64, p inbox.Presence, manual *Manual, evs []inbox.Event) error
	SetAgentHours(ctx context.Context, userID int64, h hours.Config) error
	// SetNotificationSettings stores a user's settings as JSON.
	SetNotificationSettings(ctx context.Context, userID int64, settings string) error

	// SaveContact stores a registered contact with its activity, in a
	// transaction of its own. The contact form writes it in the
	// transaction of its message instead (ContactTx).
	SaveContact(ctx context.Context, c *Contact, act *inbox.Activity) error
	// Contacts lists a queue's registered contacts, newest first, with an
	// id below beforeID (0: from the newest).
	Contacts(ctx context.Context, queue string, beforeID int64, limit int) ([]Contact, error)

	// AddNotifications stores in-app notifications, assigning IDs.
	AddNotifications(ctx context.Context, ns []Notification) error
	// NotificationsSince returns a user's notifications after an id.
	NotificationsSince(ctx context.Context, userID, afterID int64, limit int) ([]Notification, error)

	// WaitingChats lists unassigned conversations with the time their
	// oldest unanswered customer message arrived.
	WaitingChats(ctx context.Context, limit int) ([]WaitingChat, error)

	// PreviousMessages returns, for each message, its conversation's
	// newest message before it that is not an automatic answer, keyed by
	// the message it precedes (absent: none).
	PreviousMessages(ctx context.Context, refs []inbox.MessageRef) (map[int64]*inbox.Message, error)
	// MessagesByID loads messages with their meta and attachments;
	// missing ids are absent from the map.
	MessagesByID(ctx context.Context, ids []int64) (map[int64]*inbox.Message, error)
	// ConversationsByID loads conversations with their participants.
	ConversationsByID(ctx context.Context, ids []int64) (map[int64]*inbox.Conversation, error)
	ConversationView(ctx context.Context, id int64) (*inbox.Conversation, *inbox.Contact, error)
	Messages(ctx context.Context, conversationID, afterID int64, limit int) ([]inbox.Message, error)
}

// ContactTx is what the contact form needs of a transaction beyond
// inbox.Tx; the store's transactions implement it.
type ContactTx interface {
	// InsertRegisteredContact stores c, assigning its ID.
	InsertRegisteredContact(ctx context.Context, c *Contact) error
}

// QueueState is what is recorded about a queue between checks.
type QueueState struct {
	Override   hours.Override
	OverrideAt time.Time
	// CheckedAt is the instant up to which transitions are recorded.
	CheckedAt time.Time
	// Open is the effective state at CheckedAt.
	Open    bool
	Version int64
}

// Manual is a presence the user chose, and when.
type Manual struct {
	Presence inbox.Presence
	At       time.Time
}

// Agent is a user with its presence state, business hours and
// notification settings.
type Agent struct {
	User       inbox.User
	Hours      hours.Config
	Manual     Manual
	LastSeenAt time.Time
	// Settings is the stored JSON ("" until the user saves some).
	Settings string
}

// Contact is a registered contact: an offline contact form as submitted.
type Contact struct {
	ID             int64             `json:"id"`
	Queue          string            `json:"queue"`
	ChannelID      string            `json:"channel_id"`
	ConversationID int64             `json:"conversation_id"`
	Name           string            `json:"name"`
	Email          string            `json:"email"`
	Message        string            `json:"message"`
	Answers        map[string]string `json:"answers"`
	// Tags are the tags of the contact's conversation, sorted.
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
}

// Notification is an in-app notification for one user.
type Notification struct {
	ID             int64     `json:"id"`
	UserID         int64     `json:"-"`
	Kind           string    `json:"kind"`
	ConversationID int64     `json:"conversation_id,omitempty"`
	Queue          string    `json:"queue,omitempty"`
	Payload        []byte    `json:"-"`
	CreatedAt      time.Time `json:"created_at"`
}

// WaitingChat is an unassigned conversation waiting for an answer.
type WaitingChat struct {
	ConversationID int64
	Queue          string
	Since          time.Time
}
