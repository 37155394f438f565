package journal

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// The customer's history: contact search, and one contact with the
// conversations of its person (every linked contact's, every channel),
// with authorization applied.

// Limits of contact reads.
const (
	DefaultContactLimit = 50
	MaxContactLimit     = 200
	// MaxContactWords bounds the words of a contact search (each is an
	// index lookup).
	MaxContactWords = 8
	// PersonConversations is how many conversations of a person, newest
	// first, a contact's page considers; those the viewer may not see are
	// left out of them.
	PersonConversations = 100
)

// ContactQuery selects contacts, newest first.
type ContactQuery struct {
	Text string
	// Channels keeps the contacts of these channels; nil: every channel.
	Channels []string
	// Before is the keyset position: contacts with a smaller id.
	Before int64
	Limit  int
}

// ContactHit is a contact found, with its person's root (its own id
// when it is linked to no other contact).
type ContactHit struct {
	inbox.Contact
	PersonID int64
}

// ContactReader is the storage contact reads need.
type ContactReader interface {
	// SearchContacts returns up to q.Limit contacts matching q, by id
	// descending.
	SearchContacts(ctx context.Context, q ContactQuery) ([]ContactHit, error)
	// ContactPerson returns a contact and its person (ENotFound when
	// there is no such contact).
	ContactPerson(ctx context.Context, id int64) (*inbox.Contact, inbox.Person, error)
	// ContactsByID returns the contacts of ids, in id order.
	ContactsByID(ctx context.Context, ids []int64) ([]inbox.Contact, error)
	// ContactConversations returns the newest (by id) limit conversations
	// of the contacts, with their participants.
	ContactConversations(ctx context.Context, contactIDs []int64, limit int) ([]*inbox.Conversation, error)
}

// Contacts answers contact reads.
type Contacts struct {
	r        ContactReader
	channels map[string]inbox.ChannelInfo
	order    []string
}

// NewContacts returns the contact reads over r.
func NewContacts(r ContactReader, channels []inbox.ChannelInfo) *Contacts {
	c := &Contacts{r: r, channels: map[string]inbox.ChannelInfo{}}
	for _, ch := range channels {
		c.channels[ch.ID] = ch
		c.order = append(c.order, ch.ID)
	}
	return c
}

// ContactView is a contact as the API shows it.
type ContactView struct {
	inbox.Contact
	Channel  inbox.ChannelRef `json:"channel"`
	Queue    string           `json:"queue"`
	PersonID int64            `json:"person_id"`
}

// ContactPage is a page of a contact search.
type ContactPage struct {
	Items      []ContactView `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

// ContactConversation is a conversation of a person, naming which of its
// contacts it is with.
type ContactConversation struct {
	inbox.ConversationSummary
	ContactID int64 `json:"contact_id"`
}

// ContactDetail is a contact with its linked contacts (those the viewer
// may see) and its person's conversations (those the viewer may see),
// newest first.
type ContactDetail struct {
	ContactView
	Linked        []ContactView         `json:"linked"`
	Conversations []ContactConversation `json:"conversations"`
}

func (c *Contacts) view(ct inbox.Contact, person int64) ContactView {
	ch, ok := c.channels[ct.ChannelID]
	ref := inbox.ChannelRef{ID: ct.ChannelID}
	if ok {
		ref = ch.Ref()
	}
	if person == 0 {
		person = ct.ID
	}
	return ContactView{Contact: ct, Channel: ref, Queue: ch.Queue, PersonID: person}
}

// viewerChannels is the channels whose contacts viewer may list: nil for
// owners and admins (all), else those of its queues.
func (c *Contacts) viewerChannels(viewer *inbox.User) []string {
	if viewer.Role.IsAdmin() {
		return nil
	}
	out := []string{}
	for _, id := range c.order {
		if inbox.ServesQueue(viewer, c.channels[id].Queue) {
			out = append(out, id)
		}
	}
	return out
}

// Search finds contacts by name, username, email, phone or id on the
// channel (words; the last also as a prefix of two characters or more),
// newest first; without text, the newest contacts. Agents find the
// contacts of their queues' channels.
func (c *Contacts) Search(ctx context.Context, viewer *inbox.User, text, cursor string, limit int) (ContactPage, error) {
	text = strings.TrimSpace(text)
	if len(text) > MaxQueryLen || !utf8.ValidString(text) {
		return ContactPage{}, inbox.Invalid("q", "must be valid UTF-8 of at most %d bytes", MaxQueryLen)
	}
	if n := len(strings.FieldsFunc(text, func(r rune) bool { return !isWordRune(r) })); n > MaxContactWords {
		return ContactPage{}, inbox.Invalid("q", "must have at most %d words", MaxContactWords)
	}
	if limit == 0 {
		limit = DefaultContactLimit
	}
	if limit < 1 || limit > MaxContactLimit {
		return ContactPage{}, inbox.Invalid("limit", "must be between 1 and %d", MaxContactLimit)
	}
	q := ContactQuery{Text: text, Channels: c.viewerChannels(viewer), Limit: limit + 1}
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return ContactPage{}, inbox.Invalid("cursor", "is not a valid cursor")
		}
		q.Before = n
	}
	p := ContactPage{Items: []ContactView{}}
	if q.Channels != nil && len(q.Channels) == 0 {
		return p, nil
	}
	cs, err := c.r.SearchContacts(ctx, q)
	if err != nil {
		return ContactPage{}, err
	}
	if len(cs) > limit {
		cs = cs[:limit]
		p.NextCursor = strconv.FormatInt(cs[limit-1].ID, 10)
	}
	for _, ct := range cs {
		p.Items = append(p.Items, c.view(ct.Contact, ct.PersonID))
	}
	return p, nil
}

// Detail returns contact id with its person's conversations the viewer
// may see (inbox.CanView) and its linked contacts the viewer may see. A
// contact the viewer may not see (inbox.CanViewContact) is not found.
func (c *Contacts) Detail(ctx context.Context, viewer *inbox.User, id int64) (*ContactDetail, error) {
	ct, person, err := c.r.ContactPerson(ctx, id)
	if err != nil {
		return nil, err
	}
	convs, err := c.r.ContactConversations(ctx, person.Members, PersonConversations)
	if err != nil {
		return nil, err
	}
	d := &ContactDetail{ContactView: c.view(*ct, person.Root), Linked: []ContactView{}, Conversations: []ContactConversation{}}
	for _, cv := range convs {
		if !inbox.CanView(viewer, cv) {
			continue
		}
		parts := cv.Participants
		if parts == nil {
			parts = []inbox.Participant{}
		}
		d.Conversations = append(d.Conversations, ContactConversation{ContactID: cv.ContactID,
			ConversationSummary: inbox.ConversationSummary{ID: cv.ID, Number: cv.Number, Title: cv.Title, Status: cv.Status,
				Queue: cv.Queue, Channel: c.view(inbox.Contact{ChannelID: cv.ChannelID}, 0).Channel, Participants: parts,
				LastMessageAt: cv.LastMessageAt, LastActivityAt: cv.LastActivityAt, Preview: cv.Preview}})
	}
	// The contacts of which the viewer sees a conversation.
	seen := map[int64]bool{}
	for _, cv := range d.Conversations {
		seen[cv.ContactID] = true
	}
	if !inbox.CanViewContact(viewer, d.Queue, seen[id]) {
		return nil, inbox.ContactNotFound()
	}
	if person.Linked() {
		others, err := c.r.ContactsByID(ctx, without(person.Members, id))
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			v := c.view(o, person.Root)
			if inbox.CanViewContact(viewer, v.Queue, seen[o.ID]) {
				d.Linked = append(d.Linked, v)
			}
		}
	}
	return d, nil
}

func without(ids []int64, id int64) []int64 {
	out := make([]int64, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// isWordRune is a letter, number, mark or private-use character: what the
// stores' full-text indexes take as part of a word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Co, r)
}
