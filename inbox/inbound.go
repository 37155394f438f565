package inbox

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what an adapter may hand to Ingest.
const (
	MaxTextBytes       = 64 << 10
	MaxAttachmentBytes = 25 << 20
	MaxAttachments     = 20
	MaxExternalIDBytes = 512
)

// Bounds of a contact's display fields, on every channel. A provider's
// over-long value is cut to them (at a character boundary) rather than
// refused: the message must not be lost, and the name is repeated in
// every event of the contact's conversations. Forms a person fills in
// (the widget's) refuse longer values with the field named.
const (
	MaxContactNameRunes  = 200 // name and username, in characters
	MaxContactEmailBytes = 254 // RFC 5321's longest path
	MaxContactPhoneBytes = 64
	MaxContactMetaBytes  = 1024 // each value of the contact's meta
)

// InboundKind says what an Inbound does.
type InboundKind string

// Inbound kinds.
const (
	// InboundMessage is a new customer message.
	InboundMessage InboundKind = ""
	// InboundEdit replaces the text of the earlier message with the same
	// ExternalID and records the edit; it never creates a message.
	InboundEdit InboundKind = "edit"
)

// ContactInfo is what a channel knows of the sender.
type ContactInfo struct {
	ExternalID string // stable id on the channel (chat id, PSID, address)
	Name       string
	Username   string
	Email      string
	Phone      string
	Meta       map[string]string
}

// Inbound is one customer message, normalized by an adapter.
type Inbound struct {
	Kind       InboundKind
	ChannelID  string
	ExternalID string // provider's message id; unique per channel
	Contact    ContactInfo
	// ThreadKey separates conversations of one contact when the channel has
	// threads of its own (a Telegram group); empty for one-per-contact.
	ThreadKey string
	// References are ExternalIDs (inbound) or ProviderIDs (outbound) of
	// earlier messages on the same channel this one answers (email
	// In-Reply-To and References); the newest match picks the conversation.
	References []string
	// ThreadToken is a conversation token (email reply+<token>@ address).
	ThreadToken string
	// Title overrides the title of a new conversation (email: name and
	// subject); empty: the contact's nickname or name.
	Title   string
	Subject string
	Text    string
	HTML    string
	// Auto marks machine-sent mail (auto-replies, bounces): stored and
	// flagged, never answered automatically.
	Auto        bool
	Attachments []Attachment
	Meta        map[string]string
	SentAt      time.Time
}

// Sanitize removes NUL characters from the text fields and cuts the
// contact's display fields to their bounds: no store keeps NUL
// (PostgreSQL refuses it), and a message refused for ever would be
// retried for ever by its provider.
func (in *Inbound) Sanitize() {
	for _, p := range []*string{&in.ExternalID, &in.Contact.ExternalID, &in.Contact.Name, &in.Contact.Username,
		&in.Contact.Email, &in.Contact.Phone, &in.Text, &in.HTML, &in.Title, &in.Subject, &in.ThreadKey, &in.ThreadToken} {
		if strings.IndexByte(*p, 0) >= 0 {
			*p = strings.ReplaceAll(*p, "\x00", "")
		}
	}
	c := &in.Contact
	c.Name = truncateRunes(c.Name, MaxContactNameRunes)
	c.Username = truncateRunes(c.Username, MaxContactNameRunes)
	c.Email = truncate(c.Email, MaxContactEmailBytes)
	c.Phone = truncate(c.Phone, MaxContactPhoneBytes)
	var meta map[string]string // a copy: the adapter's map is left alone
	for k, v := range c.Meta {
		if len(v) > MaxContactMetaBytes || strings.IndexByte(v, 0) >= 0 {
			if meta == nil {
				meta = make(map[string]string, len(c.Meta))
				for k, v := range c.Meta {
					meta[k] = v
				}
			}
			meta[k] = truncate(strings.ReplaceAll(v, "\x00", ""), MaxContactMetaBytes)
		}
	}
	if meta != nil {
		c.Meta = meta
	}
}

// truncateRunes cuts s to at most n characters. Invalid bytes count as
// one character each and are kept, for Validate to refuse.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// Validate checks the fields every adapter must fill, and the limits.
func (in *Inbound) Validate() error {
	switch {
	case in.ChannelID == "":
		return Invalid("channel", "is required")
	case in.ExternalID == "":
		return Invalid("message_id", "is required")
	case len(in.ExternalID) > MaxExternalIDBytes:
		return Invalid("message_id", "is longer than %d bytes", MaxExternalIDBytes)
	case in.Contact.ExternalID == "":
		return Invalid("contact.id", "is required")
	case len(in.Contact.ExternalID) > MaxExternalIDBytes:
		return Invalid("contact.id", "is longer than %d bytes", MaxExternalIDBytes)
	case len(in.Text) > MaxTextBytes:
		return &Error{Code: ETooLarge, Field: "text", Message: "text is too long"}
	case len(in.Attachments) > MaxAttachments:
		return Invalid("attachments", "more than %d attachments", MaxAttachments)
	}
	for _, s := range []struct{ field, v string }{
		{"message_id", in.ExternalID}, {"contact.id", in.Contact.ExternalID},
		{"contact.name", in.Contact.Name}, {"contact.username", in.Contact.Username},
		{"text", in.Text}, {"title", in.Title}, {"subject", in.Subject},
	} {
		if !utf8.ValidString(s.v) {
			return Invalid(s.field, "is not valid UTF-8")
		}
	}
	if in.Text == "" && len(in.Attachments) == 0 && in.Kind == InboundMessage {
		return Invalid("text", "is required when there are no attachments")
	}
	for _, a := range in.Attachments {
		if int64(len(a.Data)) > MaxAttachmentBytes || a.Size > MaxAttachmentBytes {
			return &Error{Code: ETooLarge, Field: "attachments", Message: "attachment is too large"}
		}
	}
	return nil
}

// IngestResult says where an Inbound landed.
type IngestResult struct {
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
	// Duplicate is true when the message was already stored (an upstream
	// retry); nothing was written.
	Duplicate bool `json:"duplicate"`
}

// Cursor is a channel's position upstream (a Telegram update offset, an
// IMAP mailbox's UIDVALIDITY and last UID), saved in the same transaction
// as the messages it covers so that a crash can neither lose nor repeat.
type Cursor struct {
	ChannelID string
	Key       string
	Value     string
}

// DeliveryUpdate is a provider's report on an outbound message.
type DeliveryUpdate struct {
	ChannelID  string
	ProviderID string // the provider's message id we stored on send
	// ExternalID is set instead of ProviderID when the report names an
	// inbound-style id (an email bounce's original Message-ID).
	State Delivery
	Error string
	At    time.Time
}

// Ingester is what adapters use to hand messages to the journal. Every call
// returns only after a commit: an adapter acknowledges upstream after it.
type Ingester interface {
	// Ingest stores one message. A message whose (channel, external id) is
	// already stored returns the stored one with Duplicate set.
	Ingest(ctx context.Context, in Inbound) (IngestResult, error)
	// IngestBatch stores messages and, in the same transaction, the
	// channel's cursor (nil: none).
	IngestBatch(ctx context.Context, ins []Inbound, cursor *Cursor) ([]IngestResult, error)
	// UpdateDelivery records providers' delivery reports on outbound
	// messages; reports for unknown ids are ignored.
	UpdateDelivery(ctx context.Context, ups []DeliveryUpdate) error
	// Cursor returns a channel's saved cursor value, "" when none.
	Cursor(ctx context.Context, channelID, key string) (string, error)
	// SaveCursor stores a cursor on its own (a batch with nothing to ingest).
	SaveCursor(ctx context.Context, c Cursor) error
}
