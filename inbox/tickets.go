package inbox

import (
	"context"
	"strconv"
	"strings"
)

// Creating a ticket: inboxd sends the conversation (its summary, the
// contact, the transcript without private notes, a link back to the
// console) to the configured ticket system and stores the ticket it
// answers as one of the conversation's links. The call is made outside
// any transaction; a failure stores nothing and can be retried.

// Bounds of the transcript a ticket system is sent: the newest messages,
// oldest first, at most this many and this much text.
const (
	TicketTranscriptMessages = 200
	TicketTranscriptBytes    = 512 << 10
)

// TicketRequest is what the ticket system is sent (the JSON body of the
// POST to integrations.tickets.create_url).
type TicketRequest struct {
	Conversation ConversationSummary `json:"conversation"`
	// ConsoleURL opens the conversation in the console ("" without
	// public_url).
	ConsoleURL string   `json:"console_url,omitempty"`
	Contact    *Contact `json:"contact"`
	// Transcript is the conversation's newest messages, oldest first,
	// without private notes; TranscriptTruncated says older ones were
	// left out.
	Transcript          []MessageView `json:"transcript"`
	TranscriptTruncated bool          `json:"transcript_truncated"`
	// Tags are the conversation's tags.
	Tags        []string    `json:"tags,omitempty"`
	RequestedBy Participant `json:"requested_by"`
}

// TicketRef is the ticket system's answer: the created ticket.
type TicketRef struct {
	URL   string `json:"url"`
	ID    string `json:"id"`
	Title string `json:"title"`
}

// TicketCreator calls the ticket system. Its errors are *Error with code
// EUpstream naming what the system answered (its status), or a plain
// error when it could not be reached.
type TicketCreator interface {
	CreateTicket(ctx context.Context, r TicketRequest) (TicketRef, error)
}

// TicketSource reads what a ticket request carries.
type TicketSource interface {
	// ConversationView loads a conversation with its participants and its
	// contact, without locking.
	ConversationView(ctx context.Context, id int64) (*Conversation, *Contact, error)
	// Transcript returns a conversation's newest messages, at most limit,
	// oldest first.
	Transcript(ctx context.Context, conversationID int64, limit int) ([]Message, error)
	// LinksOf returns conversations' links (absent: none).
	LinksOf(ctx context.Context, conversationIDs []int64) (map[int64][]Link, error)
}

// TicketOptions is the configured ticket system.
type TicketOptions struct {
	Creator TicketCreator
	Source  TicketSource
	// Label names the action in the console ("Create ticket").
	Label string
	// System is the created links' system.
	System string
	// PublicURL is the console's base URL (public_url), for the link back.
	PublicURL string
}

// CanCreateTicket reports whether u may create a ticket from c: the
// transcript leaves inboxd, so only who may read it (CanView), not every
// agent who may act on c.
func CanCreateTicket(u *User, c *Conversation) bool { return CanView(u, c) }

// TicketLabel is the console's label for the action, "" when no ticket
// system is configured.
func (l *Links) TicketLabel() string {
	if l.tickets == nil {
		return ""
	}
	return l.tickets.Label
}

// CreateTicket sends the conversation to the ticket system and stores the
// ticket it answers as a link (an answer whose URL the conversation
// already holds returns that link: created false). An unreachable or
// failing system is an EUpstream error; nothing is stored and the agent
// may try again.
func (l *Links) CreateTicket(ctx context.Context, actor *User, conversationID int64) (*Link, bool, error) {
	t := l.tickets
	if t == nil {
		return nil, false, Errorf(EConflict, "no ticket system is configured (integrations.tickets)")
	}
	conv, contact, err := t.Source.ConversationView(ctx, conversationID)
	if err != nil {
		return nil, false, err
	}
	if !CanCreateTicket(actor, conv) {
		return nil, false, Errorf(ENotFound, "conversation not found")
	}
	// A full conversation is refused before a ticket is made that could
	// not be linked (add checks again, under the conversation's lock).
	links, err := t.Source.LinksOf(ctx, []int64{conv.ID})
	if err != nil {
		return nil, false, err
	}
	if len(links[conv.ID]) >= MaxLinksPerConversation {
		return nil, false, Errorf(EConflict, "a conversation holds at most %d links: delete one first", MaxLinksPerConversation)
	}
	ms, err := t.Source.Transcript(ctx, conv.ID, TicketTranscriptMessages+1)
	if err != nil {
		return nil, false, err
	}
	req := TicketRequest{Conversation: l.svc.Summary(conv), Contact: contact, Tags: conv.Tags,
		RequestedBy: Participant{ID: actor.ID, Name: actor.Name}}
	req.Transcript, req.TranscriptTruncated = transcript(ms)
	if base := strings.TrimSuffix(t.PublicURL, "/"); base != "" {
		req.ConsoleURL = base + "/conversations/" + strconv.FormatInt(conv.ID, 10)
		// The ticket system is elsewhere: attachment links become absolute
		// (downloading still needs a login).
		for i := range req.Transcript {
			for j := range req.Transcript[i].Attachments {
				req.Transcript[i].Attachments[j].URL = base + req.Transcript[i].Attachments[j].URL
			}
		}
	}
	ref, err := t.Creator.CreateTicket(ctx, req)
	if err != nil {
		l.log.Warn("ticket not created", "conversation_id", conv.ID, "err", err)
		if ErrorCode(err) != EUpstream {
			err = Errorf(EUpstream, "the ticket system could not be reached")
		}
		return nil, false, err
	}
	in := LinkInput{URL: ref.URL, Title: ref.Title, System: t.System, ExternalID: ref.ID}
	if in.Title == "" && ref.ID != "" {
		in.Title = "Ticket " + ref.ID
	}
	if err := in.Normalize(); err != nil {
		l.log.Warn("ticket system answered an unusable ticket", "conversation_id", conv.ID, "err", err)
		return nil, false, Errorf(EUpstream, "the ticket system's answer is unusable: %s", ErrorMessage(err))
	}
	return l.add(ctx, actor, conv.ID, in, true)
}

// transcript is what a ticket is sent of ms (oldest first, one more than
// the limit when there are more): the newest messages within the bounds,
// private notes left out.
func transcript(ms []Message) ([]MessageView, bool) {
	truncated := false
	if len(ms) > TicketTranscriptMessages {
		ms, truncated = ms[len(ms)-TicketTranscriptMessages:], true
	}
	var (
		out   []MessageView
		bytes int
	)
	for i := len(ms) - 1; i >= 0; i-- {
		m := &ms[i]
		if !SharedOutside(m) {
			continue
		}
		if bytes += len(m.Text); bytes > TicketTranscriptBytes {
			truncated = true
			break
		}
		out = append(out, m.View())
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if out == nil {
		out = []MessageView{}
	}
	return out, truncated
}

// SharedOutside reports whether m may leave inboxd in a transcript (a
// ticket's): every customer message and reply, never an agents' private
// note.
func SharedOutside(m *Message) bool { return m.Kind != KindNote }
