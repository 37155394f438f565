package privacy

import (
	"context"
	"strconv"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// EventConversationDeleted tells the live feeds that a conversation is
// gone (erased with its contact): consoles drop its row. Its payload is
// {"id"} and nothing else, so the event keeps nothing of the person.
const EventConversationDeleted inbox.EventKind = "conversation.deleted"

// CanManage reports whether u may export and erase a person's data:
// owners and admins.
func CanManage(u *inbox.User) bool { return u != nil && u.Role.IsAdmin() }

// Export is everything inboxd keeps about one contact: the contact, its
// conversations with every message (both directions, automatic replies
// included) and its attachments' metadata (not their content), and the
// registered-contact forms it sent.
type Export struct {
	ExportedAt         time.Time            `json:"exported_at"`
	Contact            inbox.Contact        `json:"contact"`
	Conversations      []ExportConversation `json:"conversations"`
	RegisteredContacts []RegisteredContact  `json:"registered_contacts"`
}

// ExportConversation is one conversation of an export.
type ExportConversation struct {
	ID            int64               `json:"id"`
	Number        int64               `json:"number"`
	ChannelID     string              `json:"channel_id"`
	Queue         string              `json:"queue"`
	Title         string              `json:"title"`
	Subject       string              `json:"subject,omitempty"`
	Status        inbox.Status        `json:"status"`
	CreatedAt     time.Time           `json:"created_at"`
	LastMessageAt time.Time           `json:"last_message_at"`
	Messages      []inbox.MessageView `json:"messages"`
}

// RegisteredContact is a contact form the person sent.
type RegisteredContact struct {
	ID             int64             `json:"id"`
	Queue          string            `json:"queue"`
	ChannelID      string            `json:"channel_id"`
	ConversationID int64             `json:"conversation_id"`
	Name           string            `json:"name"`
	Email          string            `json:"email"`
	Message        string            `json:"message"`
	Answers        map[string]string `json:"answers,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
}

// Counts are the rows a deletion removed, by kind.
type Counts struct {
	Conversations      int64 `json:"conversations"`
	Messages           int64 `json:"messages"`
	Attachments        int64 `json:"attachments"`
	Events             int64 `json:"events"`
	Activities         int64 `json:"activities"`
	RegisteredContacts int64 `json:"registered_contacts"`
	Notifications      int64 `json:"notifications"`
	Visitors           int64 `json:"visitors"`
	Contacts           int64 `json:"contacts"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Conversations += o.Conversations
	c.Messages += o.Messages
	c.Attachments += o.Attachments
	c.Events += o.Events
	c.Activities += o.Activities
	c.RegisteredContacts += o.RegisteredContacts
	c.Notifications += o.Notifications
	c.Visitors += o.Visitors
	c.Contacts += o.Contacts
}

// auditData is c as an audit entry's data: counts only.
func (c Counts) auditData() map[string]string {
	d := map[string]string{}
	for k, v := range map[string]int64{"conversations": c.Conversations, "messages": c.Messages,
		"attachments": c.Attachments, "events": c.Events, "activities": c.Activities,
		"registered_contacts": c.RegisteredContacts, "notifications": c.Notifications,
		"visitors": c.Visitors, "contacts": c.Contacts} {
		d[k] = strconv.FormatInt(v, 10)
	}
	return d
}

// Erased is what an erasure removed: the conversations (for their
// conversation.deleted events) and the counts.
type Erased struct {
	ContactID     int64                `json:"contact_id"`
	Conversations []ErasedConversation `json:"-"`
	Counts        Counts               `json:"deleted"`
}

// ErasedConversation is a conversation as it was when erased: what the
// feeds need to tell its viewers that it is gone.
type ErasedConversation struct {
	ID           int64
	Queue        string
	Status       inbox.Status
	Participants []int64
}

// Lookup names the contacts of a person for the command line: by email
// (every contact with that address, on any channel) or by channel and
// external id.
type Lookup struct {
	Email      string
	ChannelID  string
	ExternalID string
}

// Store is the persistence privacy needs.
type Store interface {
	// ContactExport reads everything kept about a contact; ENotFound when
	// there is none. maxMessages > 0 bounds the messages: ETooLarge beyond.
	ContactExport(ctx context.Context, contactID int64, maxMessages int) (*Export, error)
	// EraseContact deletes a contact and everything of it in one
	// transaction; record, given what was deleted, returns the audit entry
	// and events written in that transaction. ENotFound when there is no
	// such contact.
	EraseContact(ctx context.Context, contactID int64, record func(Erased) (*inbox.AuditEntry, []inbox.Event)) (Erased, []inbox.Event, error)
	// ExpireConversations deletes, in one transaction, at most limit of
	// the inactive conversations c selects, oldest activity first, with
	// everything of them, and the contacts left without a conversation.
	ExpireConversations(ctx context.Context, c Cutoff, limit int) (Counts, error)
	// FindContacts returns the contacts a lookup names (at most 100).
	FindContacts(ctx context.Context, l Lookup) ([]inbox.Contact, error)
	inbox.Auditor
}
