package store

import (
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Rows as scanned from SQL; converted to domain types at once.

type conversationRow struct {
	ID             int64
	Number         int64
	Token          string
	ChannelID      string
	Queue          string
	ContactID      int64
	ThreadKey      string
	Title          string
	Subject        string
	Status         string
	OwnerID        int64
	LastActivityAt time.Time
	LastMessageAt  time.Time
	LastInboundAt  time.Time
	LastInboundID  int64
	Preview        string
	ClosedAt       sql.NullTime
	CreatedAt      time.Time
}

const conversationCols = `c.id, c.number, c.token, c.channel_id, c.queue, c.contact_id, c.thread_key, c.title,
	c.subject, c.status, c.owner_id, c.last_activity_at, c.last_message_at, c.last_inbound_at, c.last_inbound_id,
	c.preview, c.closed_at, c.created_at`

func (r *conversationRow) domain() *inbox.Conversation {
	return &inbox.Conversation{
		ID: r.ID, Number: r.Number, Token: r.Token, ChannelID: r.ChannelID, Queue: r.Queue,
		ContactID: r.ContactID, Title: r.Title, Subject: r.Subject, Status: inbox.Status(r.Status),
		OwnerID: r.OwnerID, LastActivityAt: r.LastActivityAt.UTC(), LastMessageAt: r.LastMessageAt.UTC(),
		LastInboundAt: r.LastInboundAt.UTC(), LastInboundID: r.LastInboundID, Preview: r.Preview, ClosedAt: utc(r.ClosedAt),
		CreatedAt: r.CreatedAt.UTC(),
	}
}

type messageRow struct {
	ID             int64
	ConversationID int64
	ChannelID      string
	Direction      string
	AuthorID       int64
	AuthorName     string
	Text           string
	HTML           string
	ExternalID     sql.NullString
	ProviderID     sql.NullString
	Delivery       string
	Error          string
	Auto           bool
	Meta           string
	CreatedAt      time.Time
	EditedAt       sql.NullTime
	Kind           string
	Mentions       string
}

const messageCols = `m.id, m.conversation_id, m.channel_id, m.direction, m.author_id, m.author_name, m.text, m.html,
	m.external_id, m.provider_id, m.delivery, m.error, m.auto, m.meta, m.created_at, m.edited_at, m.kind, m.mentions`

func (r *messageRow) domain() *inbox.Message {
	return &inbox.Message{
		ID: r.ID, ConversationID: r.ConversationID, ChannelID: r.ChannelID,
		Direction: inbox.Direction(r.Direction), AuthorID: r.AuthorID, AuthorName: r.AuthorName,
		Text: r.Text, HTML: r.HTML, ExternalID: r.ExternalID.String, ProviderID: r.ProviderID.String,
		Delivery: inbox.Delivery(r.Delivery), Error: r.Error, Auto: r.Auto, Meta: decodeMap(r.Meta),
		CreatedAt: r.CreatedAt.UTC(), EditedAt: utc(r.EditedAt),
		Kind: inbox.MessageKind(r.Kind), Mentions: decodeMentions(r.Mentions),
	}
}

type contactRow struct {
	ID         int64
	ChannelID  string
	ExternalID string
	Name       string
	Username   string
	Email      string
	Phone      string
	Meta       string
	CreatedAt  time.Time
}

const contactCols = `id, channel_id, external_id, name, username, email, phone, meta, created_at`

func (r *contactRow) domain() *inbox.Contact {
	return &inbox.Contact{
		ID: r.ID, ChannelID: r.ChannelID, ExternalID: r.ExternalID, Name: r.Name, Username: r.Username,
		Email: r.Email, Phone: r.Phone, Meta: decodeMap(r.Meta), CreatedAt: r.CreatedAt.UTC(),
	}
}

func utc(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeMap(s string) map[string]string {
	if s == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func splitIDs(s string) []int64 {
	if s == "" {
		return nil
	}
	var out []int64
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}
