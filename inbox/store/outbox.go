package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
)

// ClaimOutbox implements inbox.Store: it leases due rows, at most one per
// conversation and only a conversation's oldest, so replies keep their
// order. On PostgreSQL, FOR UPDATE SKIP LOCKED lets replicas claim side by
// side without double sends.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]inbox.OutboxItem, error) {
	var items []inbox.OutboxItem
	err := s.inTx(ctx, func(t *tx) error {
		g := t.g
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		var ids []int64
		if err := g.Raw(`SELECT o.id FROM outbox o
			WHERE o.next_attempt_at <= ? AND (o.locked_until IS NULL OR o.locked_until < ?)
			AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id AND p.id < o.id)
			ORDER BY o.next_attempt_at, o.id LIMIT ?`+lock, now, now, limit).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var rs []struct {
			ID, MessageID, ConversationID int64
			ChannelID                     string
			Attempts                      int
		}
		if err := g.Raw(`UPDATE outbox SET locked_until = ?, attempts = attempts + 1 WHERE id IN ?
			RETURNING id, message_id, conversation_id, channel_id, attempts`, now.Add(lease), ids).Scan(&rs).Error; err != nil {
			return err
		}
		for _, r := range rs {
			items = append(items, inbox.OutboxItem{ID: r.ID, MessageID: r.MessageID, ConversationID: r.ConversationID,
				ChannelID: r.ChannelID, Attempts: r.Attempts})
		}
		return nil
	})
	return items, err
}

// ExtendOutboxLease implements inbox.Store.
func (s *Store) ExtendOutboxLease(ctx context.Context, ids []int64, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`UPDATE outbox SET locked_until = ? WHERE id IN ? AND locked_until IS NOT NULL`,
			until, ids).Error
	})
}

// NextOutboxDue implements inbox.Store.
func (s *Store) NextOutboxDue(ctx context.Context) (time.Time, bool, error) {
	var ts []time.Time
	err := s.read(ctx).Raw(`SELECT next_attempt_at FROM outbox ORDER BY next_attempt_at LIMIT 1`).Scan(&ts).Error
	if err != nil || len(ts) == 0 {
		return time.Time{}, false, classify(err)
	}
	return ts[0].UTC(), true, nil
}

// LoadOutbound implements inbox.Store.
func (s *Store) LoadOutbound(ctx context.Context, it inbox.OutboxItem) (inbox.Outbound, error) {
	g := s.read(ctx)
	t := &tx{g: g, s: s, readOnly: true}
	m, err := t.Message(ctx, it.MessageID)
	if err != nil {
		return inbox.Outbound{}, classify(err)
	}
	var cs []conversationRow
	if err := g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.id = ?`, m.ConversationID).Scan(&cs).Error; err != nil || len(cs) == 0 {
		if err == nil {
			err = inbox.Errorf(inbox.ENotFound, "conversation not found")
		}
		return inbox.Outbound{}, classify(err)
	}
	c := cs[0]
	contact, err := t.Contact(ctx, c.ContactID)
	if err != nil {
		return inbox.Outbound{}, classify(err)
	}
	out := inbox.Outbound{
		MessageID: m.ID, ChannelID: m.ChannelID, Contact: *contact, AuthorName: m.AuthorName, Text: m.Text, Auto: m.Auto,
		Conversation: inbox.OutboundConversation{ID: c.ID, Number: c.Number, Token: c.Token,
			ThreadKey: c.ThreadKey, Subject: c.Subject, Title: c.Title},
	}
	out.Thread, out.LastInbound, err = threadOf(g, c.ID, m.ID)
	return out, classify(err)
}

// threadOf lists the provider-side ids of a conversation's messages before
// the one being sent, and its newest inbound message.
func threadOf(g *gorm.DB, convID, beforeID int64) ([]string, *inbox.Message, error) {
	var rs []messageRow
	if err := g.Raw(`SELECT `+messageCols+` FROM messages m WHERE m.conversation_id = ? AND m.id < ? ORDER BY m.id`,
		convID, beforeID).Scan(&rs).Error; err != nil {
		return nil, nil, err
	}
	var thread []string
	var last *inbox.Message
	for i := range rs {
		switch {
		case rs[i].Direction == string(inbox.DirectionIn) && rs[i].ExternalID.Valid:
			thread = append(thread, rs[i].ExternalID.String)
			last = rs[i].domain()
		case rs[i].ProviderID.Valid && rs[i].ProviderID.String != "":
			thread = append(thread, rs[i].ProviderID.String)
		}
	}
	return thread, last, nil
}
