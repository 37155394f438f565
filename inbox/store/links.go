package store

import (
	"context"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Ticket links (migration 0014): inbox.LinkStore, the journal's links of a
// page, and what a ticket request reads.

// InLinkTx implements inbox.LinkStore.
func (s *Store) InLinkTx(ctx context.Context, fn func(tx inbox.LinkTx) error) error {
	return s.inTx(ctx, func(t *tx) error { return fn(t) })
}

type linkRow struct {
	ID             int64
	ConversationID int64
	URL            string
	Title          string
	System         string
	ExternalID     string
	CreatedBy      int64
	CreatedByName  string
	CreatedAt      time.Time
}

const linkCols = `l.id, l.conversation_id, l.url, l.title, l.system, l.external_id, l.created_by, l.created_by_name, l.created_at`

func (r *linkRow) domain() inbox.Link {
	l := inbox.Link{ID: r.ID, ConversationID: r.ConversationID, URL: r.URL, Title: r.Title, System: r.System,
		ExternalID: r.ExternalID, CreatedAt: r.CreatedAt.UTC()}
	if r.CreatedBy != 0 || r.CreatedByName != "" {
		l.CreatedBy = &inbox.Participant{ID: r.CreatedBy, Name: r.CreatedByName}
	}
	return l
}

// Links implements inbox.LinkTx.
func (t *tx) Links(ctx context.Context, conversationID int64) ([]inbox.Link, error) {
	m, err := linksOf(t, []int64{conversationID})
	return m[conversationID], err
}

// InsertLink implements inbox.LinkTx. A URL the conversation holds
// already breaks the unique key, which InTx reports as inbox.ErrRetryTx.
func (t *tx) InsertLink(ctx context.Context, l *inbox.Link) error {
	var by int64
	var byName string
	if l.CreatedBy != nil {
		by, byName = l.CreatedBy.ID, l.CreatedBy.Name
	}
	return t.g.Raw(`INSERT INTO links (conversation_id, url, title, system, external_id, created_by, created_by_name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, l.ConversationID, l.URL, l.Title, l.System, l.ExternalID,
		by, byName, l.CreatedAt.UTC()).Scan(&l.ID).Error
}

// DeleteLink implements inbox.LinkTx.
func (t *tx) DeleteLink(ctx context.Context, conversationID, linkID int64) (bool, error) {
	res := t.g.Exec(`DELETE FROM links WHERE id = ? AND conversation_id = ?`, linkID, conversationID)
	return res.RowsAffected > 0, res.Error
}

// LinksOf implements journal.Reader: the links of many conversations in
// one query, oldest first; conversations without links are absent.
func (s *Store) LinksOf(ctx context.Context, conversationIDs []int64) (map[int64][]inbox.Link, error) {
	m, err := linksOf(&tx{g: s.read(ctx), s: s, readOnly: true}, conversationIDs)
	return m, classify(err)
}

func linksOf(t *tx, ids []int64) (map[int64][]inbox.Link, error) {
	out := map[int64][]inbox.Link{}
	if len(ids) == 0 {
		return out, nil
	}
	var rs []linkRow
	if err := t.g.Raw(`SELECT `+linkCols+` FROM links l WHERE l.conversation_id IN ? ORDER BY l.id`, ids).
		Scan(&rs).Error; err != nil {
		return nil, err
	}
	for i := range rs {
		out[rs[i].ConversationID] = append(out[rs[i].ConversationID], rs[i].domain())
	}
	return out, nil
}

// Transcript implements inbox.TicketSource: the newest messages, oldest
// first, with their attachments' metadata.
func (s *Store) Transcript(ctx context.Context, conversationID int64, limit int) ([]inbox.Message, error) {
	var first []int64
	if err := s.read(ctx).Raw(`SELECT m.id FROM messages m WHERE m.conversation_id = ? ORDER BY m.id DESC LIMIT ?`,
		conversationID, limit).Scan(&first).Error; err != nil {
		return nil, classify(err)
	}
	if len(first) == 0 {
		return []inbox.Message{}, nil
	}
	return s.Messages(ctx, conversationID, first[len(first)-1]-1, limit)
}

var (
	_ inbox.LinkStore    = (*Store)(nil)
	_ inbox.LinkTx       = (*tx)(nil)
	_ inbox.TicketSource = (*Store)(nil)
)
