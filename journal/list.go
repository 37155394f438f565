package journal

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// Scope narrows a list to what a viewer asked for.
type Scope string

// Scopes.
const (
	// ScopeAll is the unified journal (owners and admins).
	ScopeAll Scope = "all"
	// ScopeMine is the conversations the viewer participates in.
	ScopeMine Scope = "mine"
	// ScopeQueue is the unassigned conversations of the viewer's queues.
	ScopeQueue Scope = "queue"
)

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 200
	MaxQueryLen  = 200
)

// Cursor is a keyset position: the last row of the previous page.
type Cursor struct {
	At time.Time
	ID int64
}

// Encode returns the opaque form clients pass back.
func (c Cursor) Encode() string {
	s := strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeCursor parses a cursor made by Encode.
func DecodeCursor(s string) (Cursor, error) {
	bad := inbox.Invalid("cursor", "is not a valid cursor")
	if len(s) > 64 {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	at, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return Cursor{}, bad
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || us < 0 {
		return Cursor{}, bad
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: n}, nil
}

// Query selects conversations.
type Query struct {
	Viewer    *inbox.User
	Scope     Scope
	Status    inbox.Status
	ChannelID string
	AgentID   int64
	// Tag keeps the conversations carrying the tag of that name.
	Tag   string
	Text  string
	Limit int
	After *Cursor
}

// Validate checks and normalizes q.
func (q *Query) Validate() error {
	if q.Status != "" && !q.Status.Valid() {
		return inbox.Invalid("status", "must be one of unassigned, active, inactive")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return inbox.Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	q.Text = strings.TrimSpace(q.Text)
	if len(q.Text) > MaxQueryLen || !utf8.ValidString(q.Text) {
		return inbox.Invalid("q", "must be valid UTF-8 of at most %d bytes", MaxQueryLen)
	}
	if q.Tag != "" {
		n, err := inbox.NormalizeTagName(q.Tag)
		if err != nil {
			return inbox.Invalid("tag", "is not a tag name")
		}
		q.Tag = n
	}
	switch q.Scope {
	case ScopeAll, ScopeMine, ScopeQueue:
	case "":
		q.Scope = ScopeAll
	default:
		return inbox.Invalid("view", "must be mine or queue")
	}
	return nil
}

// Item is one journal row.
type Item struct {
	inbox.ConversationSummary
	Unread bool `json:"unread"`
	// Tags are the conversation's tag names, sorted.
	Tags []string `json:"tags"`
}

// Page is a list page; NextCursor is empty on the last page.
type Page struct {
	Items      []Item `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// MessagePage is a page of a conversation's messages, oldest first.
type MessagePage struct {
	Items      []inbox.MessageView `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

// Reader is the storage the journal reads.
type Reader interface {
	ListConversations(ctx context.Context, q Query) ([]Item, error)
	// ConversationView loads one conversation with its participants.
	ConversationView(ctx context.Context, id int64) (*inbox.Conversation, *inbox.Contact, error)
	Messages(ctx context.Context, conversationID, afterID int64, limit int) ([]inbox.Message, error)
	MarkRead(ctx context.Context, userID, conversationID int64) error
	Activities(ctx context.Context, queue string, beforeID int64, limit int) ([]inbox.Activity, error)
	EventsSince(ctx context.Context, afterID int64, limit int) ([]inbox.Event, error)
	// EventsMatching is EventsSince narrowed by f, read by an index: the
	// rows f excludes are not read.
	EventsMatching(ctx context.Context, f EventFilter, afterID int64, limit int) ([]inbox.Event, error)
	// EventBounds returns the oldest and the newest stored event ids
	// (zeros: none).
	EventBounds(ctx context.Context) (oldest, newest int64, err error)
	Attachment(ctx context.Context, id int64) (*inbox.Attachment, int64, error)
	// LinksOf returns the links of many conversations in one query
	// (absent: none).
	LinksOf(ctx context.Context, conversationIDs []int64) (map[int64][]inbox.Link, error)
}

// Journal answers read queries with authorization applied.
type Journal struct {
	r        Reader
	channels map[string]inbox.ChannelRef
}

// New returns a journal over r.
func New(r Reader, channels []inbox.ChannelInfo) *Journal {
	j := &Journal{r: r, channels: map[string]inbox.ChannelRef{}}
	for _, c := range channels {
		j.channels[c.ID] = c.Ref()
	}
	return j
}

// List returns a page of conversations for q's viewer.
func (j *Journal) List(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	if q.Scope == ScopeAll && !inbox.CanViewJournal(q.Viewer) {
		return Page{}, inbox.Errorf(inbox.EForbidden, "the journal is for owners and admins")
	}
	want := q.Limit
	q.Limit = want + 1
	items, err := j.r.ListConversations(ctx, q)
	if err != nil {
		return Page{}, err
	}
	p := Page{Items: items}
	if len(items) > want {
		p.Items = items[:want]
		last := p.Items[want-1]
		p.NextCursor = Cursor{At: last.LastActivityAt, ID: last.ID}.Encode()
	}
	for i := range p.Items {
		p.Items[i].Channel = j.channels[p.Items[i].Channel.ID]
		if p.Items[i].Participants == nil {
			p.Items[i].Participants = []inbox.Participant{}
		}
		if p.Items[i].Tags == nil {
			p.Items[i].Tags = []string{}
		}
	}
	if p.Items == nil {
		p.Items = []Item{}
	}
	if err := j.withLinks(ctx, p.Items); err != nil {
		return Page{}, err
	}
	return p, nil
}

// ConversationDetail is a conversation with its contact.
type ConversationDetail struct {
	Item
	Contact *inbox.Contact `json:"contact"`
}

// Conversation returns one conversation the viewer may see (ENotFound
// otherwise: existence is not revealed).
func (j *Journal) Conversation(ctx context.Context, viewer *inbox.User, id int64) (*ConversationDetail, error) {
	c, contact, err := j.r.ConversationView(ctx, id)
	if err != nil {
		return nil, err
	}
	if !inbox.CanView(viewer, c) {
		return nil, inbox.Errorf(inbox.ENotFound, "conversation not found")
	}
	parts := c.Participants
	if parts == nil {
		parts = []inbox.Participant{}
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	d := &ConversationDetail{
		Item: Item{ConversationSummary: inbox.ConversationSummary{
			ID: c.ID, Number: c.Number, Title: c.Title, Status: c.Status, Queue: c.Queue,
			Channel: j.channels[c.ChannelID], Participants: parts,
			LastMessageAt: c.LastMessageAt, LastActivityAt: c.LastActivityAt, Preview: c.Preview,
		}, Tags: tags},
		Contact: contact,
	}
	items := []Item{d.Item}
	if err := j.withLinks(ctx, items); err != nil {
		return nil, err
	}
	d.Item = items[0]
	return d, nil
}

// Messages returns a page of a visible conversation's messages, oldest
// first, and marks them read for the viewer.
func (j *Journal) Messages(ctx context.Context, viewer *inbox.User, id int64, cursor string, limit int) (MessagePage, error) {
	if _, err := j.Conversation(ctx, viewer, id); err != nil {
		return MessagePage{}, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return MessagePage{}, inbox.Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n < 0 {
			return MessagePage{}, inbox.Invalid("cursor", "is not a valid cursor")
		}
		after = n
	}
	ms, err := j.r.Messages(ctx, id, after, limit+1)
	if err != nil {
		return MessagePage{}, err
	}
	p := MessagePage{Items: []inbox.MessageView{}}
	if len(ms) > limit {
		ms = ms[:limit]
		p.NextCursor = strconv.FormatInt(ms[limit-1].ID, 10)
	}
	for i := range ms {
		p.Items = append(p.Items, ms[i].View())
	}
	if err := j.r.MarkRead(ctx, viewer.ID, id); err != nil {
		return MessagePage{}, fmt.Errorf("mark read: %w", err)
	}
	return p, nil
}

// Activity returns a queue's activity log, newest first.
func (j *Journal) Activity(ctx context.Context, viewer *inbox.User, queue string, before int64, limit int) ([]inbox.Activity, error) {
	if !viewer.Role.IsAdmin() && (queue == "" || !inbox.ServesQueue(viewer, queue)) {
		return nil, inbox.Errorf(inbox.EForbidden, "the activity log of this queue is not yours")
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return nil, inbox.Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	acts, err := j.r.Activities(ctx, queue, before, limit)
	if acts == nil {
		acts = []inbox.Activity{}
	}
	return acts, err
}

// Attachment returns an attachment of a message the viewer may see.
func (j *Journal) Attachment(ctx context.Context, viewer *inbox.User, id int64) (*inbox.Attachment, string, error) {
	a, convID, err := j.r.Attachment(ctx, id)
	if err != nil {
		return nil, "", err
	}
	c, _, err := j.r.ConversationView(ctx, convID)
	if err != nil {
		return nil, "", err
	}
	if !inbox.CanView(viewer, c) {
		return nil, "", inbox.Errorf(inbox.ENotFound, "attachment not found")
	}
	return a, c.ChannelID, nil
}
