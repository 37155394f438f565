package inbox

import (
	"encoding/json"
	"time"
)

// EventKind names a live-feed event.
type EventKind string

// Event kinds.
const (
	EventConversationCreated EventKind = "conversation.created"
	EventConversationUpdated EventKind = "conversation.updated"
	EventMessageCreated      EventKind = "message.created"
	EventMessageUpdated      EventKind = "message.updated"
	// EventTyping is a live-only event (never stored, id 0): someone is
	// typing in a conversation. Payload: {"who":"agent|visitor","name"}.
	EventTyping EventKind = "typing"
)

// Event is an entry of the append-only events table, written in the same
// transaction as the change it reports and published after commit. Queue,
// Status and Participants let a feed decide per viewer without a query.
type Event struct {
	ID             int64           `json:"id"`
	Kind           EventKind       `json:"kind"`
	ConversationID int64           `json:"conversation_id"`
	Queue          string          `json:"queue"`
	Status         Status          `json:"status"`
	Participants   []int64         `json:"participants"`
	Payload        json.RawMessage `json:"payload"`
	CreatedAt      time.Time       `json:"created_at"`
}

// Visible reports whether u may receive e.
func (e *Event) Visible(u *User) bool {
	if v, handled := e.visibleOutsideConversation(u); handled {
		return v
	}
	c := Conversation{Queue: e.Queue, Status: e.Status}
	for _, id := range e.Participants {
		c.Participants = append(c.Participants, Participant{ID: id})
	}
	return CanView(u, &c)
}

// Publisher fans committed events out to live subscribers. Publish must not
// block the writer.
type Publisher interface {
	Publish(events []Event)
}

// ConversationSummary is a conversation as the journal and the live feed
// show it.
type ConversationSummary struct {
	ID             int64         `json:"id"`
	Number         int64         `json:"number"`
	Title          string        `json:"title"`
	Status         Status        `json:"status"`
	Queue          string        `json:"queue"`
	Channel        ChannelRef    `json:"channel"`
	Participants   []Participant `json:"participants"`
	LastMessageAt  time.Time     `json:"last_message_at"`
	LastActivityAt time.Time     `json:"last_activity_at"`
	Preview        string        `json:"preview"`
	// Links are the conversation's links: always in journal items and in
	// the conversation.updated events of a link change, absent (nil) from
	// other events, where they did not change.
	Links []Link `json:"links,omitzero"`
}

// MessageView is a message as the API and the live feed show it.
type MessageView struct {
	ID             int64            `json:"id"`
	ConversationID int64            `json:"conversation_id"`
	Kind           MessageKind      `json:"kind"`
	Direction      Direction        `json:"direction"`
	Author         *Participant     `json:"author"`
	Text           string           `json:"text"`
	Attachments    []AttachmentView `json:"attachments"`
	CreatedAt      time.Time        `json:"created_at"`
	EditedAt       *time.Time       `json:"edited_at"`
	Delivery       *Delivery        `json:"delivery"`
	Error          string           `json:"error,omitempty"`
	Auto           bool             `json:"auto,omitempty"`
	// Mentions are the colleagues a note mentions (notes only).
	Mentions []Participant `json:"mentions,omitempty"`
}

// AttachmentView is an attachment's metadata with its download path.
type AttachmentView struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	MIMEType string `json:"mime_type"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
}

// View returns the client shape of m.
func (m *Message) View() MessageView {
	v := MessageView{
		ID: m.ID, ConversationID: m.ConversationID, Direction: m.Direction,
		Text: m.Text, CreatedAt: m.CreatedAt, Error: m.Error, Auto: m.Auto,
		Attachments: []AttachmentView{}, Kind: KindMessage,
	}
	if m.IsNote() {
		v.Kind, v.Mentions = KindNote, append([]Participant{}, m.Mentions...)
		v.Author = &Participant{ID: m.AuthorID, Name: m.AuthorName}
	} else if m.Direction == DirectionOut {
		v.Author = &Participant{ID: m.AuthorID, Name: m.AuthorName}
		d := m.Delivery
		v.Delivery = &d
	} else if m.AuthorName != "" {
		v.Author = &Participant{Name: m.AuthorName}
	}
	if !m.EditedAt.IsZero() {
		t := m.EditedAt
		v.EditedAt = &t
	}
	for _, a := range m.Attachments {
		v.Attachments = append(v.Attachments, AttachmentView{
			ID: a.ID, Name: a.Name, MIMEType: a.MIMEType, Size: a.Size,
			URL: "/api/v1/attachments/" + itoa(a.ID),
		})
	}
	return v
}
