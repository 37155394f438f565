package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/queues"
)

// Persistence of opening hours, presence, registered contacts and
// notifications (migration 0002).

// QueueStates implements queues.Store.
func (s *Store) QueueStates(ctx context.Context) (map[string]queues.QueueState, error) {
	var rs []struct {
		Queue      string
		Override   string
		OverrideAt sql.NullTime
		CheckedAt  time.Time
		IsOpen     bool
		Version    int64
	}
	if err := s.read(ctx).Raw(`SELECT queue, override, override_at, checked_at, is_open, version FROM queue_state`).
		Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make(map[string]queues.QueueState, len(rs))
	for _, r := range rs {
		out[r.Queue] = queues.QueueState{Override: hours.Override(r.Override), OverrideAt: utc(r.OverrideAt),
			CheckedAt: r.CheckedAt.UTC(), Open: r.IsOpen, Version: r.Version}
	}
	return out, nil
}

// AdvanceQueue implements queues.Store. The version check makes the
// update conditional, so that two replicas never record one transition
// twice: the loser's transaction writes nothing.
func (s *Store) AdvanceQueue(ctx context.Context, queue string, prevVersion int64, st *queues.QueueState,
	acts []inbox.Activity, evs []inbox.Event) (bool, error) {
	won := false
	err := s.inTx(ctx, func(t *tx) error {
		var n int64
		if prevVersion == 0 {
			r := t.g.Exec(`INSERT INTO queue_state (queue, override, override_at, checked_at, is_open, version)
				VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (queue) DO NOTHING`,
				queue, string(st.Override), nullTime(st.OverrideAt), st.CheckedAt.UTC(), st.Open)
			if r.Error != nil {
				return r.Error
			}
			n = r.RowsAffected
		} else {
			r := t.g.Exec(`UPDATE queue_state SET override = ?, override_at = ?, checked_at = ?, is_open = ?, version = version + 1
				WHERE queue = ? AND version = ?`,
				string(st.Override), nullTime(st.OverrideAt), st.CheckedAt.UTC(), st.Open, queue, prevVersion)
			if r.Error != nil {
				return r.Error
			}
			n = r.RowsAffected
		}
		if n != 1 {
			return nil
		}
		for i := range acts {
			if err := t.InsertActivity(ctx, &acts[i]); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			if err := t.InsertEvents(ctx, evs); err != nil {
				return err
			}
		}
		won = true
		st.Version = prevVersion + 1
		return nil
	})
	if err != nil {
		return false, err
	}
	return won, nil
}

// Agents implements queues.Store: one query over users and their presence
// settings.
func (s *Store) Agents(ctx context.Context) ([]queues.Agent, error) {
	var rs []struct {
		ID            int64
		Email         string
		Name          string
		Role          string
		PasswordHash  string
		Presence      string
		Queues        string
		Notifications string
		CreatedAt     time.Time
		LastSeenAt    sql.NullTime
		Timezone      sql.NullString
		HoursOpen     sql.NullString
		HoursClose    sql.NullString
		Manual        sql.NullString
		ManualAt      sql.NullTime
	}
	if err := s.read(ctx).Raw(`SELECT ` + userCols + `, a.timezone, a.hours_open, a.hours_close, a.manual, a.manual_at
		FROM users u LEFT JOIN agent_presence a ON a.user_id = u.id WHERE u.deactivated_at IS NULL ORDER BY u.id`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]queues.Agent, len(rs))
	for i, r := range rs {
		ur := userRow{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, Presence: r.Presence, Queues: r.Queues,
			CreatedAt: r.CreatedAt}
		out[i] = queues.Agent{
			User:       *ur.domain(),
			Hours:      hours.Config{Timezone: r.Timezone.String, Open: r.HoursOpen.String, Close: r.HoursClose.String},
			Manual:     queues.Manual{Presence: inbox.Presence(r.Manual.String), At: utc(r.ManualAt)},
			LastSeenAt: utc(r.LastSeenAt),
			Settings:   r.Notifications,
		}
	}
	return out, nil
}

// SavePresence implements queues.Store.
func (s *Store) SavePresence(ctx context.Context, userID int64, p inbox.Presence, manual *queues.Manual, evs []inbox.Event) error {
	return s.inTx(ctx, func(t *tx) error {
		if err := t.g.Exec(`UPDATE users SET presence = ? WHERE id = ?`, string(p), userID).Error; err != nil {
			return err
		}
		if manual != nil {
			if err := t.g.Exec(`INSERT INTO agent_presence (user_id, manual, manual_at) VALUES (?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET manual = excluded.manual, manual_at = excluded.manual_at`,
				userID, string(manual.Presence), manual.At.UTC()).Error; err != nil {
				return err
			}
		}
		if len(evs) == 0 {
			return nil
		}
		return t.InsertEvents(ctx, evs)
	})
}

// SetAgentHours implements queues.Store.
func (s *Store) SetAgentHours(ctx context.Context, userID int64, h hours.Config) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`INSERT INTO agent_presence (user_id, timezone, hours_open, hours_close) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, hours_open = excluded.hours_open,
			hours_close = excluded.hours_close`, userID, h.Timezone, h.Open, h.Close).Error
	})
}

// SetNotificationSettings implements queues.Store.
func (s *Store) SetNotificationSettings(ctx context.Context, userID int64, settings string) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`UPDATE users SET notifications = ? WHERE id = ?`, settings, userID).Error
	})
}

// SaveContact implements queues.Store.
func (s *Store) SaveContact(ctx context.Context, c *queues.Contact, act *inbox.Activity) error {
	return s.inTx(ctx, func(t *tx) error {
		if err := t.InsertRegisteredContact(ctx, c); err != nil {
			return err
		}
		if act == nil {
			return nil
		}
		return t.InsertActivity(ctx, act)
	})
}

// InsertRegisteredContact implements queues.ContactTx.
func (t *tx) InsertRegisteredContact(ctx context.Context, c *queues.Contact) error {
	answers, _ := json.Marshal(c.Answers)
	return t.g.Raw(`INSERT INTO registered_contacts (queue, channel_id, conversation_id, name, email, message, answers, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Queue, c.ChannelID, c.ConversationID, c.Name, c.Email,
		c.Message, string(answers), c.CreatedAt.UTC()).Scan(&c.ID).Error
}

// Contacts implements queues.Store.
func (s *Store) Contacts(ctx context.Context, queue string, beforeID int64, limit int) ([]queues.Contact, error) {
	q := `SELECT id, queue, channel_id, conversation_id, name, email, message, answers, created_at
		FROM registered_contacts WHERE queue = ?`
	args := []any{queue}
	if beforeID > 0 {
		q += ` AND id < ?`
		args = append(args, beforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	var rs []struct {
		ID                            int64
		Queue, ChannelID              string
		ConversationID                int64
		Name, Email, Message, Answers string
		CreatedAt                     time.Time
	}
	if err := s.read(ctx).Raw(q, args...).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	convs := make([]int64, len(rs))
	for i, r := range rs {
		convs[i] = r.ConversationID
	}
	tags, err := conversationTags(s.read(ctx), convs)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]queues.Contact, len(rs))
	for i, r := range rs {
		ans := map[string]string{}
		_ = json.Unmarshal([]byte(r.Answers), &ans)
		t := tags[r.ConversationID]
		if t == nil {
			t = []string{}
		}
		out[i] = queues.Contact{ID: r.ID, Queue: r.Queue, ChannelID: r.ChannelID, ConversationID: r.ConversationID,
			Name: r.Name, Email: r.Email, Message: r.Message, Answers: ans, Tags: t, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// AddNotifications implements queues.Store.
func (s *Store) AddNotifications(ctx context.Context, ns []queues.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t *tx) error {
		for i := range ns {
			n := &ns[i]
			if err := t.g.Raw(`INSERT INTO notifications (user_id, kind, conversation_id, queue, payload, created_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, n.UserID, n.Kind, n.ConversationID, n.Queue, string(n.Payload),
				n.CreatedAt.UTC()).Scan(&n.ID).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// NotificationsSince implements queues.Store.
func (s *Store) NotificationsSince(ctx context.Context, userID, afterID int64, limit int) ([]queues.Notification, error) {
	var rs []struct {
		ID, UserID     int64
		Kind           string
		ConversationID int64
		Queue, Payload string
		CreatedAt      time.Time
	}
	if err := s.read(ctx).Raw(`SELECT id, user_id, kind, conversation_id, queue, payload, created_at FROM notifications
		WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`, userID, afterID, limit).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]queues.Notification, len(rs))
	for i, r := range rs {
		out[i] = queues.Notification{ID: r.ID, UserID: r.UserID, Kind: r.Kind, ConversationID: r.ConversationID,
			Queue: r.Queue, Payload: []byte(r.Payload), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// WaitingChats implements queues.Store: an unassigned conversation waits
// since its oldest customer message after the team's last message.
func (s *Store) WaitingChats(ctx context.Context, limit int) ([]queues.WaitingChat, error) {
	var rs []struct {
		ID    int64
		Queue string
		Since sql.NullString
	}
	// MIN over a time column comes back as text on SQLite: read it as
	// text on both and parse.
	err := s.read(ctx).Raw(`SELECT c.id, c.queue, MIN(m.created_at) AS since FROM conversations c
		JOIN messages m ON m.conversation_id = c.id AND m.direction = 'in'
		AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation_id = c.id AND o.direction = 'out' AND o.auto = ? AND o.kind = 'message'), 0)
		WHERE c.status = 'unassigned' GROUP BY c.id, c.queue ORDER BY c.id LIMIT ?`, false, limit).Scan(&rs).Error
	if err != nil {
		return nil, classify(err)
	}
	out := make([]queues.WaitingChat, 0, len(rs))
	for _, r := range rs {
		t, ok := parseDBTime(r.Since.String)
		if !ok {
			continue
		}
		out = append(out, queues.WaitingChat{ConversationID: r.ID, Queue: r.Queue, Since: t})
	}
	return out, nil
}

// PreviousMessages implements queues.Store: for each message, the
// conversation's newest message before it that is not an automatic
// answer, found in one statement (one indexed lookup per message).
func (s *Store) PreviousMessages(ctx context.Context, refs []inbox.MessageRef) (map[int64]*inbox.Message, error) {
	out := map[int64]*inbox.Message{}
	if len(refs) == 0 {
		return out, nil
	}
	const one = `SELECT CAST(? AS BIGINT) AS next_id, (SELECT m.id FROM messages m WHERE m.conversation_id = ? AND m.id < ?
		AND NOT (m.direction = 'out' AND m.auto = ?) AND m.kind = 'message' ORDER BY m.id DESC LIMIT 1) AS prev_id`
	parts := make([]string, len(refs))
	args := make([]any, 0, 4*len(refs))
	for i, r := range refs {
		parts[i] = one
		args = append(args, r.MessageID, r.ConversationID, r.MessageID, true)
	}
	var pairs []struct {
		NextID int64
		PrevID sql.NullInt64
	}
	if err := s.read(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&pairs).Error; err != nil {
		return nil, classify(err)
	}
	var ids []int64
	for _, p := range pairs {
		if p.PrevID.Valid {
			ids = append(ids, p.PrevID.Int64)
		}
	}
	prev, err := s.MessagesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		if m := prev[p.PrevID.Int64]; p.PrevID.Valid && m != nil {
			out[p.NextID] = m
		}
	}
	return out, nil
}

// MessagesByID implements queues.Store.
func (s *Store) MessagesByID(ctx context.Context, ids []int64) (map[int64]*inbox.Message, error) {
	out := map[int64]*inbox.Message{}
	if len(ids) == 0 {
		return out, nil
	}
	g := s.read(ctx)
	var rs []messageRow
	if err := g.Raw(`SELECT `+messageCols+` FROM messages m WHERE m.id IN ?`, ids).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	found := make([]int64, 0, len(rs))
	for i := range rs {
		out[rs[i].ID] = rs[i].domain()
		found = append(found, rs[i].ID)
	}
	as, err := attachmentsOf(g, found)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		m := out[a.messageID]
		m.Attachments = append(m.Attachments, a.Attachment)
	}
	return out, nil
}

// ConversationsByID implements queues.Store.
func (s *Store) ConversationsByID(ctx context.Context, ids []int64) (map[int64]*inbox.Conversation, error) {
	out := map[int64]*inbox.Conversation{}
	if len(ids) == 0 {
		return out, nil
	}
	g := s.read(ctx)
	var rs []conversationRow
	if err := g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.id IN ?`, ids).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	found := make([]int64, 0, len(rs))
	for i := range rs {
		out[rs[i].ID] = rs[i].domain()
		found = append(found, rs[i].ID)
	}
	parts, err := participants(g, found)
	if err != nil {
		return nil, classify(err)
	}
	for id, c := range out {
		c.Participants = parts[id]
	}
	return out, nil
}

// messageAttachment is an attachment's metadata and its message.
type messageAttachment struct {
	inbox.Attachment
	messageID int64
}

// attachmentsOf lists the attachments (without their data) of messages,
// in id order.
func attachmentsOf(g *gorm.DB, messageIDs []int64) ([]messageAttachment, error) {
	if len(messageIDs) == 0 {
		return nil, nil
	}
	var rs []struct {
		ID, MessageID, Size int64
		Name, MimeType      string
	}
	if err := g.Raw(`SELECT id, message_id, size, name, mime_type FROM attachments WHERE message_id IN ? ORDER BY id`,
		messageIDs).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]messageAttachment, len(rs))
	for i, r := range rs {
		out[i] = messageAttachment{Attachment: inbox.Attachment{ID: r.ID, Name: r.Name, MIMEType: r.MimeType, Size: r.Size},
			messageID: r.MessageID}
	}
	return out, nil
}

// parseDBTime reads a timestamp as either driver renders it in text.
func parseDBTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999999-07", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// RecordAutoReply remembers that conversationID got its automatic answer
// for period; false when it already had one (inbox.Service.AutoReply
// finds it through an optional interface of inbox.Tx).
func (t *tx) RecordAutoReply(ctx context.Context, conversationID int64, period string, messageID int64, at time.Time) (bool, error) {
	r := t.g.Exec(`INSERT INTO auto_replies (conversation_id, period, message_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (conversation_id, period) DO NOTHING`, conversationID, period, messageID, at.UTC())
	return r.RowsAffected == 1, r.Error
}

// HasAutoReply reports whether conversationID already got its automatic
// answer for period.
func (t *tx) HasAutoReply(ctx context.Context, conversationID int64, period string) (bool, error) {
	var n int64
	err := t.g.Raw(`SELECT COUNT(*) FROM auto_replies WHERE conversation_id = ? AND period = ?`, conversationID, period).Scan(&n).Error
	return n > 0, err
}

var (
	_ queues.Store     = (*Store)(nil)
	_ queues.ContactTx = (*tx)(nil)
)
