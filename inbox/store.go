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

// Tx is the work a service method does inside one transaction.
type Tx interface {
	// UpsertContact creates or refreshes the contact and locks it for the
	// rest of the transaction, so that one contact's messages are ingested
	// one at a time.
	UpsertContact(ctx context.Context, channelID string, ci ContactInfo, now time.Time) (*Contact, error)
	Contact(ctx context.Context, id int64) (*Contact, error)
	MessageByExternalID(ctx context.Context, channelID, externalID string) (*Message, error)
	// LatestConversation is the contact's newest conversation with that
	// thread key, nil when none.
	LatestConversation(ctx context.Context, contactID int64, threadKey string) (*Conversation, error)
	// ConversationByReference finds the newest conversation on the channel
	// holding a message whose external or provider id is one of refs.
	ConversationByReference(ctx context.Context, channelID string, refs []string) (*Conversation, error)
	ConversationByToken(ctx context.Context, channelID, token string) (*Conversation, error)
	// Conversation loads one conversation with its participants and locks
	// it for the rest of the transaction; ENotFound when absent.
	Conversation(ctx context.Context, id int64) (*Conversation, error)
	// CreateConversation assigns ID and the next sequential Number.
	CreateConversation(ctx context.Context, c *Conversation, threadKey string) error
	// UpdateConversation writes status, owner, title, times and preview.
	UpdateConversation(ctx context.Context, c *Conversation) error
	AddParticipant(ctx context.Context, conversationID int64, u *User, now time.Time) error
	RemoveParticipant(ctx context.Context, conversationID, userID int64) error
	// AnyAvailable reports whether one of the users is Available (its
	// presence is one of AvailablePresences).
	AnyAvailable(ctx context.Context, userIDs []int64) (bool, error)
	// InsertMessage stores m and its attachments, assigning IDs. It returns
	// ErrRetryTx when (channel, external id) is already taken.
	InsertMessage(ctx context.Context, m *Message) error
	// EditMessage replaces an inbound message's text and sets EditedAt.
	EditMessage(ctx context.Context, m *Message) error
	// SetDelivery records a delivery state by provider id when the
	// message's state AdvancesTo it, also against a concurrent report; nil
	// when no outbound message has that id or the state does not apply.
	SetDelivery(ctx context.Context, channelID, providerID string, d Delivery, errText string) (*Message, error)
	// MarkSent / MarkFailed / Reschedule finish an outbox row.
	MarkSent(ctx context.Context, outboxID, messageID int64, providerID string) (*Message, error)
	MarkFailed(ctx context.Context, outboxID, messageID int64, errText string) (*Message, error)
	Reschedule(ctx context.Context, outboxID int64, due time.Time, errText string) error
	// RetryMessage puts a failed outbound message back into the outbox.
	RetryMessage(ctx context.Context, m *Message, due time.Time) error
	Message(ctx context.Context, id int64) (*Message, error)
	Enqueue(ctx context.Context, m *Message, due time.Time) error
	InsertActivity(ctx context.Context, a *Activity) error
	// InsertEvents appends events, assigning their IDs.
	InsertEvents(ctx context.Context, evs []Event) error
	SaveCursor(ctx context.Context, c Cursor) error
	Cursor(ctx context.Context, channelID, key string) (string, error)
	// Savepoint and RollbackTo let one transaction carry many independent
	// ingests (group commit): a failing one is undone alone.
	Savepoint(ctx context.Context, name string) error
	RollbackTo(ctx context.Context, name string) error

	// The bulk forms, one statement for a whole group (group commit's fast
	// path). UpsertContacts takes distinct contacts in lock order and
	// returns them in that order, locked.
	UpsertContacts(ctx context.Context, cs []ContactUpsert, now time.Time) ([]*Contact, error)
	// MessagesByExternalIDs returns the stored messages among keys, as
	// duplicate results.
	MessagesByExternalIDs(ctx context.Context, keys []MessageKey) (map[MessageKey]IngestResult, error)
	// LatestConversations is LatestConversation for many pairs, locked.
	LatestConversations(ctx context.Context, refs []ThreadRef) (map[ThreadRef]*Conversation, error)
	CreateConversations(ctx context.Context, cs []*Conversation, threadKeys []string) error
	// InsertMessages stores messages that all have an ExternalID; it
	// returns ErrRetryTx when one of them is already stored.
	InsertMessages(ctx context.Context, ms []*Message) error
	UpdateConversations(ctx context.Context, cs []*Conversation) error
	InsertActivities(ctx context.Context, as []*Activity) error

	AssignTx
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
