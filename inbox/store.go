package inbox

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrRetryTx asks the service to run a transaction again: a uniqueness race
// was lost (a concurrent duplicate) and a fresh read will see the winner.
var ErrRetryTx = errors.New("inbox: transaction lost a race, retry")

// Store is the persistence the service needs. Implementations live in
// inbox/store; the same behaviour holds on SQLite and PostgreSQL.
type Store interface {
	// InTx runs fn in one transaction; fn's error rolls it back. A store
	// that cannot be reached returns an error wrapping ErrUnavailable.
	InTx(ctx context.Context, fn func(tx Tx) error) error

	// Outbox, outside user transactions.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error)
	// ExtendOutboxLease keeps claimed rows invisible to other dispatchers
	// until until; rows already finished (unlocked or gone) are left alone.
	ExtendOutboxLease(ctx context.Context, ids []int64, until time.Time) error
	// LoadOutbound fills what a sender needs for a claimed row.
	LoadOutbound(ctx context.Context, item OutboxItem) (Outbound, error)
	NextOutboxDue(ctx context.Context) (time.Time, bool, error)
}

// Tx is a transaction of the store. Each consumer names the part it uses:
// ingest (IngestTx), agents' actions (ActionTx), the outbox and delivery
// reports (OutboxTx); the contact form's callback gets the whole.
type Tx interface {
	IngestTx
	ActionTx
	OutboxTx
	AuditTx
	AssignTx
	UserTx
	// Savepoint and RollbackTo let one transaction carry many independent
	// ingests (group commit): a failing one is undone alone.
	Savepoint(ctx context.Context, name string) error
	RollbackTo(ctx context.Context, name string) error
	Cursor(ctx context.Context, channelID, key string) (string, error)
}

// EventTx appends to the events table.
type EventTx interface {
	// InsertEvents appends events, assigning their IDs.
	InsertEvents(ctx context.Context, evs []Event) error
}

// ActionTx is what an agent's action needs: one conversation, locked, and
// the rows of what was done to it.
type ActionTx interface {
	EventTx
	Contact(ctx context.Context, id int64) (*Contact, error)
	// Conversation loads one conversation with its participants and locks
	// it for the rest of the transaction; ENotFound when absent.
	Conversation(ctx context.Context, id int64) (*Conversation, error)
	// UpdateConversation writes status, owner, title, times and preview.
	UpdateConversation(ctx context.Context, c *Conversation) error
	AddParticipant(ctx context.Context, conversationID int64, u *User, now time.Time) error
	RemoveParticipant(ctx context.Context, conversationID, userID int64) error
	// InsertMessage stores an agent's message, assigning its ID.
	InsertMessage(ctx context.Context, m *Message) error
	Message(ctx context.Context, id int64) (*Message, error)
	Enqueue(ctx context.Context, m *Message, due time.Time) error
	// RetryMessage puts a failed outbound message back into the outbox.
	RetryMessage(ctx context.Context, m *Message, due time.Time) error
	InsertActivity(ctx context.Context, a *Activity) error
}

// OutboxTx is what finishing an outbox row and a delivery report need.
type OutboxTx interface {
	EventTx
	// MarkSent / MarkFailed / Reschedule finish an outbox row.
	MarkSent(ctx context.Context, outboxID, messageID int64, providerID string) (*Message, error)
	MarkFailed(ctx context.Context, outboxID, messageID int64, errText string) (*Message, error)
	Reschedule(ctx context.Context, outboxID int64, due time.Time, errText string) error
	// SetDelivery records a delivery state by provider id when the
	// message's state AdvancesTo it, also against a concurrent report; nil
	// when no outbound message has that id or the state does not apply.
	SetDelivery(ctx context.Context, channelID, providerID string, d Delivery, errText string) (*Message, error)
	// Conversation is ActionTx's.
	Conversation(ctx context.Context, id int64) (*Conversation, error)
}

// ContactUpsert is one contact of a bulk upsert.
type ContactUpsert struct {
	ChannelID string
	Info      ContactInfo
}

// MessageKey is what makes an inbound message (or a contact) unique.
type MessageKey struct{ ChannelID, ExternalID string }

// MessageRef names a message of a conversation.
type MessageRef struct{ ConversationID, MessageID int64 }

// ThreadRef names a contact's line of conversations.
type ThreadRef struct {
	ContactID int64
	ThreadKey string
}

// OutboxItem is a claimed outbox row.
type OutboxItem struct {
	ID             int64
	MessageID      int64
	ConversationID int64
	ChannelID      string
	Attempts       int // including this one
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
