package store

import (
	"context"
	"time"
)

// Website widget visitors. A visitor is a token holder on a widget channel;
// the token's SHA-256 (never the token) is stored with the contact key the
// visitor speaks as: a random key for an anonymous visitor, the site's user
// id for a verified one (then several devices share one key, and with it
// the contact and its conversation).

// VisitorLifetime is how long a visitor token lasts unused: a token not
// seen for longer is unknown (the widget registers again; a verified
// visitor finds its conversation again under its user id) and its row is
// deleted by PruneExpired.
const VisitorLifetime = 90 * 24 * time.Hour

// CreateVisitor stores a new visitor's token hash.
func (s *Store) CreateVisitor(ctx context.Context, channelID, contactKey string, verified bool, tokenHash string, now time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`INSERT INTO widget_visitors (channel_id, contact_key, token_hash, verified, created_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?)`, channelID, contactKey, tokenHash, verified, now.UTC(), now.UTC()).Error
	})
}

// VisitorByToken returns the contact key of the visitor holding the token
// on the channel, "" when there is none: a token of another channel is
// unknown here, and so is a token unused for VisitorLifetime.
// last_seen_at is refreshed at most once an hour.
func (s *Store) VisitorByToken(ctx context.Context, channelID, tokenHash string, now time.Time) (string, error) {
	var rs []struct {
		ID         int64
		ContactKey string
		LastSeenAt time.Time
	}
	if err := s.read(ctx).Raw(`SELECT id, contact_key, last_seen_at FROM widget_visitors WHERE token_hash = ? AND channel_id = ?`,
		tokenHash, channelID).Scan(&rs).Error; err != nil {
		return "", classify(err)
	}
	if len(rs) == 0 || now.Sub(rs[0].LastSeenAt) > VisitorLifetime {
		return "", nil
	}
	if now.Sub(rs[0].LastSeenAt) > time.Hour {
		_ = s.inTx(ctx, func(t *tx) error {
			return t.g.Exec(`UPDATE widget_visitors SET last_seen_at = ? WHERE id = ?`, now.UTC(), rs[0].ID).Error
		})
	}
	return rs[0].ContactKey, nil
}

// VisitorConversation returns the newest conversation of the contact with
// that key on the channel: its id and number, zeros when the visitor has
// not written yet.
func (s *Store) VisitorConversation(ctx context.Context, channelID, contactKey string) (id, number int64, err error) {
	var rs []struct{ ID, Number int64 }
	if err := s.read(ctx).Raw(`SELECT c.id, c.number FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
		WHERE ct.channel_id = ? AND ct.external_id = ? AND c.thread_key = '' ORDER BY c.id DESC LIMIT 1`,
		channelID, contactKey).Scan(&rs).Error; err != nil {
		return 0, 0, classify(err)
	}
	if len(rs) == 0 {
		return 0, 0, nil
	}
	return rs[0].ID, rs[0].Number, nil
}
