package inbox

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Ticket links: a conversation carries links to work items elsewhere (a
// ticket, a task). An agent adds one by URL, or has inboxd create a ticket
// in the configured ticket system (tickets.go), whose answer is stored as
// a link.

// Limits of a link, and of a conversation's links.
const (
	MaxLinkURL        = 2048 // bytes
	MaxLinkTitle      = 200  // characters
	MaxLinkSystem     = 64   // characters
	MaxLinkExternalID = 200  // characters
	// MaxLinksPerConversation bounds what one conversation carries (and
	// what every journal item and conversation.updated event may hold).
	MaxLinksPerConversation = 50
)

// Activity kinds of links.
const (
	ActivityLinked   ActivityKind = "linked"
	ActivityUnlinked ActivityKind = "unlinked"
)

// Link is a conversation's link to a work item in another system.
type Link struct {
	ID             int64  `json:"id"`
	ConversationID int64  `json:"conversation_id"`
	URL            string `json:"url"`
	Title          string `json:"title"`
	// System names where the link points ("jira", "tickets"); free text.
	System string `json:"system"`
	// ExternalID is the work item's id in its system (a created ticket's).
	ExternalID string       `json:"external_id,omitempty"`
	CreatedBy  *Participant `json:"created_by"`
	CreatedAt  time.Time    `json:"created_at"`
}

// LinkInput is a link as a client or a ticket system gives it.
type LinkInput struct {
	URL, Title, System, ExternalID string
}

// Normalize trims in and checks it: an absolute http or https URL with a
// host and no credentials, of at most MaxLinkURL bytes; title, system and
// external id of bounded length, without control characters.
func (in *LinkInput) Normalize() error {
	in.URL = strings.TrimSpace(in.URL)
	in.Title = strings.Join(strings.Fields(in.Title), " ")
	in.System = strings.TrimSpace(in.System)
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	if err := checkLinkURL(in.URL); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"title", in.Title, MaxLinkTitle}, {"system", in.System, MaxLinkSystem}, {"external_id", in.ExternalID, MaxLinkExternalID}} {
		switch {
		case !utf8.ValidString(f.v):
			return Invalid(f.name, "is not valid UTF-8")
		case utf8.RuneCountInString(f.v) > f.max:
			return Invalid(f.name, "must be at most %d characters", f.max)
		case strings.IndexFunc(f.v, unicode.IsControl) >= 0:
			return Invalid(f.name, "must not contain control characters")
		}
	}
	return nil
}

// checkLinkURL accepts what a browser may open from the console: http and
// https only (never javascript:, data: or a relative path).
func checkLinkURL(raw string) error {
	switch {
	case raw == "":
		return Invalid("url", "is required")
	case len(raw) > MaxLinkURL:
		return Invalid("url", "must be at most %d bytes", MaxLinkURL)
	case !utf8.ValidString(raw) || strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return Invalid("url", "must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid("url", "is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Invalid("url", "must be an http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return Invalid("url", "must name a host")
	case u.User != nil:
		return Invalid("url", "must not contain a user name or password")
	}
	return nil
}

// CanReadLinks reports whether u may see c's links: whoever sees c.
func CanReadLinks(u *User, c *Conversation) bool { return CanView(u, c) }

// CanEditLinks reports whether u may add or delete c's links: whoever may
// act on c (an agent also on a colleague's conversation of its queues).
func CanEditLinks(u *User, c *Conversation) bool { return CanAct(u, c) }

// LinkTx is the work the link methods do inside one transaction; the
// store's transactions implement it.
type LinkTx interface {
	// Conversation loads and locks a conversation (ENotFound when absent):
	// a conversation's links change one transaction at a time, so the
	// count limit holds.
	Conversation(ctx context.Context, id int64) (*Conversation, error)
	// Links returns a conversation's links, oldest first.
	Links(ctx context.Context, conversationID int64) ([]Link, error)
	// InsertLink stores l, assigning its ID; ErrRetryTx when the
	// conversation already holds its URL (a concurrent add).
	InsertLink(ctx context.Context, l *Link) error
	// DeleteLink removes one of a conversation's links; false when the
	// conversation has no link with that id.
	DeleteLink(ctx context.Context, conversationID, linkID int64) (bool, error)
	InsertActivity(ctx context.Context, a *Activity) error
	InsertEvents(ctx context.Context, evs []Event) error
}

// LinkStore runs link transactions.
type LinkStore interface {
	InLinkTx(ctx context.Context, fn func(tx LinkTx) error) error
}

// LinksOptions configures Links.
type LinksOptions struct {
	Service *Service
	Store   LinkStore
	// Tickets is the configured ticket system; nil: none ("Create
	// ticket" answers a conflict).
	Tickets *TicketOptions
	Logger  *slog.Logger
}

// Links adds and deletes conversations' links, and creates tickets. Each
// change is one transaction with its activity entry and a
// conversation.updated event carrying the conversation's links.
type Links struct {
	svc     *Service
	store   LinkStore
	tickets *TicketOptions
	log     *slog.Logger
}

// NewLinks returns the link methods over o.Store.
func NewLinks(o LinksOptions) *Links {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Links{svc: o.Service, store: o.Store, tickets: o.Tickets, log: o.Logger}
}

// Add stores a link given by an agent. A URL the conversation already
// holds is a conflict.
func (l *Links) Add(ctx context.Context, actor *User, conversationID int64, in LinkInput) (*Link, error) {
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	link, _, err := l.add(ctx, actor, conversationID, in, false)
	return link, err
}

// add stores in on the conversation. With existingOK, a URL already held
// returns that link (created false) instead of a conflict.
func (l *Links) add(ctx context.Context, actor *User, conversationID int64, in LinkInput, existingOK bool) (*Link, bool, error) {
	var (
		link    *Link
		created bool
	)
	err := l.inTx(ctx, func(tx LinkTx, evs *eventSink) error {
		link, created = nil, false
		conv, err := tx.Conversation(ctx, conversationID)
		if err != nil {
			return err
		}
		if !CanEditLinks(actor, conv) {
			return Errorf(ENotFound, "conversation not found")
		}
		links, err := tx.Links(ctx, conv.ID)
		if err != nil {
			return err
		}
		for i := range links {
			if links[i].URL == in.URL {
				if existingOK {
					link = &links[i]
					return nil
				}
				return &Error{Code: EConflict, Field: "url", Message: "the conversation already has this link"}
			}
		}
		if len(links) >= MaxLinksPerConversation {
			return Errorf(EConflict, "a conversation holds at most %d links: delete one first", MaxLinksPerConversation)
		}
		now := l.svc.clock.Now()
		link = &Link{ConversationID: conv.ID, URL: in.URL, Title: in.Title, System: in.System, ExternalID: in.ExternalID,
			CreatedBy: &Participant{ID: actor.ID, Name: actor.Name}, CreatedAt: now}
		if err := tx.InsertLink(ctx, link); err != nil {
			return err
		}
		created = true
		data := map[string]string{"link_id": itoa(link.ID), "url": link.URL}
		if link.Title != "" {
			data["title"] = link.Title
		}
		if link.System != "" {
			data["system"] = link.System
		}
		if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: ActivityLinked, ConversationID: conv.ID,
			ActorID: actor.ID, ActorName: actor.Name, Data: data, CreatedAt: now}); err != nil {
			return err
		}
		l.linksChanged(evs, conv, append(links, *link), now)
		return nil
	})
	return link, created, err
}

// Delete removes a link; ENotFound when the conversation (for this actor)
// or the link does not exist.
func (l *Links) Delete(ctx context.Context, actor *User, conversationID, linkID int64) error {
	return l.inTx(ctx, func(tx LinkTx, evs *eventSink) error {
		conv, err := tx.Conversation(ctx, conversationID)
		if err != nil {
			return err
		}
		if !CanEditLinks(actor, conv) {
			return Errorf(ENotFound, "conversation not found")
		}
		links, err := tx.Links(ctx, conv.ID)
		if err != nil {
			return err
		}
		var gone *Link
		kept := make([]Link, 0, len(links))
		for i := range links {
			if links[i].ID == linkID {
				gone = &links[i]
				continue
			}
			kept = append(kept, links[i])
		}
		if gone == nil {
			return Errorf(ENotFound, "link not found")
		}
		if ok, err := tx.DeleteLink(ctx, conv.ID, linkID); err != nil || !ok {
			if err == nil {
				err = Errorf(ENotFound, "link not found")
			}
			return err
		}
		now := l.svc.clock.Now()
		if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: ActivityUnlinked, ConversationID: conv.ID,
			ActorID: actor.ID, ActorName: actor.Name, Data: map[string]string{"link_id": itoa(gone.ID), "url": gone.URL},
			CreatedAt: now}); err != nil {
			return err
		}
		l.linksChanged(evs, conv, kept, now)
		return nil
	})
}

// linksChanged reports the conversation with its links as they are now.
// Other conversation.updated events carry no links (unchanged).
func (l *Links) linksChanged(evs *eventSink, conv *Conversation, links []Link, now time.Time) {
	sum := l.svc.Summary(conv)
	sum.Links = links
	if sum.Links == nil {
		sum.Links = []Link{}
	}
	evs.add(EventConversationUpdated, conv, s2json(sum), now)
}

// inTx runs fn in a link transaction, retrying a lost uniqueness race,
// and publishes its events after commit.
func (l *Links) inTx(ctx context.Context, fn func(tx LinkTx, evs *eventSink) error) error {
	return runTx(ctx, l.svc, l.store.InLinkTx, fn)
}
