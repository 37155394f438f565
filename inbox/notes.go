package inbox

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Private notes: the team's own messages in a conversation.
// A note never reaches a channel: it has no outbox row, and the widget,
// webhook callbacks and emailed transcripts never carry it.

// MessageKind says whether a message reaches the channel.
type MessageKind string

// Message kinds.
const (
	// KindMessage is a customer's message or a reply (the zero value
	// reads as this).
	KindMessage MessageKind = "message"
	// KindNote is a private note of the team.
	KindNote MessageKind = "note"
)

// IsNote reports whether m is a private note.
func (m *Message) IsNote() bool { return m.Kind == KindNote }

// MaxMentions bounds the colleagues one note mentions.
const MaxMentions = 20

// NoteRequest is the body of POST /api/v1/conversations/{id}/notes.
type NoteRequest struct {
	Text string `json:"text"`
	// Mentions are the ids of the colleagues told about the note.
	Mentions []int64 `json:"mentions"`
}

// checkNoteText trims and validates a note's text; optional allows "".
func checkNoteText(text string, optional bool) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "" && optional:
		return "", nil
	case text == "":
		return "", Invalid("text", "is required")
	case len(text) > MaxTextBytes:
		return "", &Error{Code: ETooLarge, Field: "text", Message: "text is too long"}
	case !utf8.ValidString(text):
		return "", Invalid("text", "is not valid UTF-8")
	}
	return text, nil
}

// CanMention explains why u cannot be mentioned in a note on c (nil: it
// can): a user may be mentioned when it is active and may act on c.
func CanMention(u *User, c *Conversation) error {
	switch {
	case u.Deactivated:
		return Invalid("mentions", "%s is deactivated", u.Name)
	case !CanAct(u, c):
		return Invalid("mentions", "%s cannot see this conversation", u.Name)
	}
	return nil
}

// AddNote stores a private note: anyone who may act on the conversation
// may write one, and writing one changes neither its status nor its
// participants (a note does not take an unassigned conversation). The
// mentioned colleagues must exist and may act on it (400 otherwise); the
// notifier tells them (the message.created event carries the mentions).
func (s *Service) AddNote(ctx context.Context, actor *User, conversationID int64, r NoteRequest) (*Message, error) {
	text, err := checkNoteText(r.Text, false)
	if err != nil {
		return nil, err
	}
	ids, err := mentionIDs(r.Mentions, actor.ID)
	if err != nil {
		return nil, err
	}
	var msg *Message
	err = s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		conv, err := s.visible(ctx, tx, actor, conversationID)
		if err != nil {
			return err
		}
		var mentions []Participant
		if len(ids) > 0 {
			us, err := tx.UsersByID(ctx, ids)
			if err != nil {
				return err
			}
			for _, id := range ids {
				u := us[id]
				if u == nil {
					return Invalid("mentions", "no user %d", id)
				}
				if err := CanMention(u, conv); err != nil {
					return err
				}
				mentions = append(mentions, Participant{ID: u.ID, Name: u.Name})
			}
		}
		msg, err = s.writeNote(ctx, tx, evs, conv, actor, text, mentions, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// mentionIDs dedupes mentions (keeping their order), drops the author's
// own id and bounds their number.
func mentionIDs(in []int64, author int64) ([]int64, error) {
	var out []int64
	for _, id := range in {
		if id <= 0 {
			return nil, Invalid("mentions", "%d is not a user", id)
		}
		if id != author && !containsID(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxMentions {
		return nil, Invalid("mentions", "at most %d colleagues per note", MaxMentions)
	}
	return out, nil
}

// writeNote stores a note in tx and collects its events. The conversation's
// last activity moves; its preview (the customer-facing thread) does not.
func (s *Service) writeNote(ctx context.Context, tx Tx, evs *eventSink, conv *Conversation, actor *User, text string,
	mentions []Participant, now time.Time) (*Message, error) {
	m := &Message{
		ConversationID: conv.ID, ChannelID: conv.ChannelID, Direction: DirectionOut, Kind: KindNote,
		AuthorID: actor.ID, AuthorName: actor.Name, Text: text, Mentions: mentions, CreatedAt: now,
	}
	if err := tx.InsertNote(ctx, m); err != nil {
		return nil, err
	}
	conv.LastActivityAt = now
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return nil, err
	}
	evs.conversation(EventConversationUpdated, conv, now)
	evs.message(EventMessageCreated, conv, m, now)
	return m, nil
}
