package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// The web console's queries: the team list, API tokens, password and name
// changes, status counts, statistics and a conversation's activity lines.

// Users returns every user, by name.
func (s *Store) Users(ctx context.Context) ([]inbox.User, error) {
	var rs []userRow
	if err := s.read(ctx).Raw(`SELECT ` + userCols + ` FROM users u ORDER BY u.name, u.id`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.User, len(rs))
	for i := range rs {
		out[i] = *rs[i].domain()
	}
	return out, nil
}

// TokenInfo is an API token as its owner sees it: never the token itself,
// which is shown once at creation and stored only as a hash.
type TokenInfo struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

// APITokens returns a user's API tokens, newest first. Session tokens are
// not listed: logging out ends those.
func (s *Store) APITokens(ctx context.Context, userID int64) ([]TokenInfo, error) {
	var rs []struct {
		ID         int64
		Name       string
		CreatedAt  time.Time
		ExpiresAt  sql.NullTime
		LastUsedAt sql.NullTime
	}
	if err := s.read(ctx).Raw(`SELECT id, name, created_at, expires_at, last_used_at FROM tokens
		WHERE user_id = ? AND kind = ? ORDER BY id DESC`, userID, TokenAPI).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]TokenInfo, len(rs))
	for i, r := range rs {
		out[i] = TokenInfo{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
		if r.ExpiresAt.Valid {
			out[i].ExpiresAt = r.ExpiresAt.Time.UTC()
		}
		if r.LastUsedAt.Valid {
			out[i].LastUsedAt = r.LastUsedAt.Time.UTC()
		}
	}
	return out, nil
}

// DeleteAPIToken revokes one of the user's API tokens; ENotFound when the
// user has no API token with that id (another user's is not revealed).
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	return s.inTx(ctx, func(t *tx) error {
		res := t.g.Exec(`DELETE FROM tokens WHERE id = ? AND user_id = ? AND kind = ?`, id, userID, TokenAPI)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.ENotFound, "token not found")
		}
		return nil
	})
}

// SetPassword stores a new password hash and ends the user's other
// sessions (keepSession is the hash of the token that changed it), so
// that a changed password locks out whoever knew the old one. With
// revokeAPITokens the user's API tokens end too (except keepSession, when
// the change was made with one).
func (s *Store) SetPassword(ctx context.Context, userID int64, hash, keepSession string, revokeAPITokens bool) error {
	return s.inTx(ctx, func(t *tx) error {
		g := t.g
		res := g.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.ENotFound, "user not found")
		}
		if revokeAPITokens {
			return g.Exec(`DELETE FROM tokens WHERE user_id = ? AND kind IN (?, ?) AND hash <> ?`,
				userID, TokenSession, TokenAPI, keepSession).Error
		}
		return g.Exec(`DELETE FROM tokens WHERE user_id = ? AND kind = ? AND hash <> ?`, userID, TokenSession, keepSession).Error
	})
}

// SetUserName stores a user's display name and returns the user as it is
// now. The name is validated by the caller; activity lines already written
// keep the name the user had then (they record what was seen).
func (s *Store) SetUserName(ctx context.Context, userID int64, name string) (*inbox.User, error) {
	var u *inbox.User
	err := s.inTx(ctx, func(t *tx) error {
		g := t.g
		res := g.Exec(`UPDATE users SET name = ? WHERE id = ?`, name, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.ENotFound, "user not found")
		}
		var rs []userRow
		if err := g.Raw(`SELECT `+userCols+` FROM users u WHERE u.id = ?`, userID).Scan(&rs).Error; err != nil {
			return err
		}
		if len(rs) == 0 {
			return inbox.Errorf(inbox.ENotFound, "user not found")
		}
		u = rs[0].domain()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// StatusCounts counts conversations per status, in one queue or all ("")
// and on one channel or all ("").
func (s *Store) StatusCounts(ctx context.Context, queue, channelID string) (map[inbox.Status]int64, error) {
	q := `SELECT status, COUNT(*) AS n FROM conversations WHERE 1 = 1`
	var args []any
	if queue != "" {
		q += ` AND queue = ?`
		args = append(args, queue)
	}
	if channelID != "" {
		q += ` AND channel_id = ?`
		args = append(args, channelID)
	}
	var rs []struct {
		Status string
		N      int64
	}
	if err := s.read(ctx).Raw(q+` GROUP BY status`, args...).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := map[inbox.Status]int64{inbox.StatusUnassigned: 0, inbox.StatusActive: 0, inbox.StatusInactive: 0}
	for _, r := range rs {
		out[inbox.Status(r.Status)] = r.N
	}
	return out, nil
}

// StatConversation is one conversation as statistics count it.
type StatConversation struct {
	ID        int64
	ChannelID string
	Status    inbox.Status
	CreatedAt time.Time
	// FirstReplyAt is the team's first reply, zero when none yet.
	FirstReplyAt time.Time
}

// ConversationStats returns the conversations of a queue created in
// [from, to), each with the time of the first reply. Two plain queries
// (no correlated subquery) so that both dialects return typed times.
func (s *Store) ConversationStats(ctx context.Context, queue string, from, to time.Time) ([]StatConversation, error) {
	g := s.read(ctx)
	var cs []struct {
		ID        int64
		ChannelID string
		Status    string
		CreatedAt time.Time
	}
	if err := g.Raw(`SELECT id, channel_id, status, created_at FROM conversations
		WHERE queue = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id`,
		queue, from.UTC(), to.UTC()).Scan(&cs).Error; err != nil {
		return nil, classify(err)
	}
	var replies []struct {
		ConversationID int64
		CreatedAt      time.Time
	}
	if err := g.Raw(`SELECT m.conversation_id, m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.direction = 'out' AND m.kind = 'message' AND c.queue = ? AND c.created_at >= ? AND c.created_at < ?`,
		queue, from.UTC(), to.UTC()).Scan(&replies).Error; err != nil {
		return nil, classify(err)
	}
	first := map[int64]time.Time{}
	for _, r := range replies {
		if t, ok := first[r.ConversationID]; !ok || r.CreatedAt.Before(t) {
			first[r.ConversationID] = r.CreatedAt
		}
	}
	out := make([]StatConversation, len(cs))
	for i, c := range cs {
		out[i] = StatConversation{ID: c.ID, ChannelID: c.ChannelID, Status: inbox.Status(c.Status), CreatedAt: c.CreatedAt.UTC()}
		if t, ok := first[c.ID]; ok {
			out[i].FirstReplyAt = t.UTC()
		}
	}
	return out, nil
}

// ConversationActivities returns a conversation's activity entries, oldest
// first (the conversation view interleaves them with the messages).
func (s *Store) ConversationActivities(ctx context.Context, conversationID int64, limit int) ([]inbox.Activity, error) {
	var rs []struct {
		ID             int64
		Queue, Kind    string
		ConversationID int64
		ActorID        int64
		ActorName      string
		Data           string
		CreatedAt      time.Time
	}
	if err := s.read(ctx).Raw(`SELECT id, queue, kind, conversation_id, actor_id, actor_name, data, created_at
		FROM activities WHERE conversation_id = ? ORDER BY id LIMIT ?`, conversationID, limit).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.Activity, len(rs))
	for i, r := range rs {
		out[i] = inbox.Activity{ID: r.ID, Queue: r.Queue, Kind: inbox.ActivityKind(r.Kind), ConversationID: r.ConversationID,
			ActorID: r.ActorID, ActorName: r.ActorName, Data: decodeMap(r.Data), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
