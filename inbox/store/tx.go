package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
)

// tx implements inbox.Tx on one gorm transaction.
type tx struct {
	g *gorm.DB
	s *Store
	// readOnly: outside a transaction, where locking rows means nothing.
	readOnly bool
}

// forUpdate locks selected rows on PostgreSQL; SQLite's single writer
// already excludes other writers for the whole transaction.
func (t *tx) forUpdate() string {
	if t.s.dialect == Postgres && !t.readOnly {
		return " FOR UPDATE"
	}
	return ""
}

// position is the SQL of the 1-based position of needle in haystack (0:
// absent), case-sensitive on both dialects, unlike LIKE on SQLite.
func (s *Store) position(needle, haystack string) string {
	if s.dialect == Postgres {
		return "strpos(" + haystack + ", " + needle + ")"
	}
	return "instr(" + haystack + ", " + needle + ")"
}

func (t *tx) Contact(ctx context.Context, id int64) (*inbox.Contact, error) {
	var rs []contactRow
	if err := t.g.Raw(`SELECT `+contactCols+` FROM contacts WHERE id = ?`, id).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "contact not found")
	}
	return rs[0].domain(), nil
}

func (t *tx) Message(ctx context.Context, id int64) (*inbox.Message, error) {
	m, err := t.oneMessage(`m.id = ?`, id)
	if err == nil && m == nil {
		return nil, inbox.Errorf(inbox.ENotFound, "message not found")
	}
	return m, err
}

func (t *tx) oneMessage(where string, args ...any) (*inbox.Message, error) {
	var rs []messageRow
	if err := t.g.Raw(`SELECT `+messageCols+` FROM messages m WHERE `+where+` LIMIT 1`, args...).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return rs[0].domain(), nil
}

func (t *tx) ConversationIDByReference(ctx context.Context, channelID string, refs []string) (int64, error) {
	if len(refs) > 100 {
		refs = refs[len(refs)-100:] // the newest references matter most
	}
	var ids []int64
	err := t.g.Raw(`SELECT m.conversation_id FROM messages m WHERE m.channel_id = ?
		AND (m.external_id IN ? OR m.provider_id IN ?) ORDER BY m.id DESC LIMIT 1`, channelID, refs, refs).Scan(&ids).Error
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return ids[0], nil
}

func (t *tx) Conversation(ctx context.Context, id int64) (*inbox.Conversation, error) {
	var rs []conversationRow
	if err := t.g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.id = ?`+t.forUpdate(), id).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "conversation not found")
	}
	c := rs[0].domain()
	parts, err := participants(t.g, []int64{c.ID})
	if err != nil {
		return nil, err
	}
	c.Participants = parts[c.ID]
	return c, nil
}

// participants loads the participants of several conversations in one
// query, owner first, then by joining time.
func participants(g *gorm.DB, convIDs []int64) (map[int64][]inbox.Participant, error) {
	out := map[int64][]inbox.Participant{}
	if len(convIDs) == 0 {
		return out, nil
	}
	var rs []struct {
		ConversationID int64
		ID             int64
		Name           string
	}
	err := g.Raw(`SELECT p.conversation_id, u.id, u.name FROM participants p
		JOIN users u ON u.id = p.user_id JOIN conversations c ON c.id = p.conversation_id
		WHERE p.conversation_id IN ? ORDER BY p.conversation_id, CASE WHEN c.owner_id = u.id THEN 0 ELSE 1 END, p.joined_at, u.id`,
		convIDs).Scan(&rs).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		out[r.ConversationID] = append(out[r.ConversationID], inbox.Participant{ID: r.ID, Name: r.Name})
	}
	return out, nil
}

func (t *tx) UpdateConversation(ctx context.Context, c *inbox.Conversation) error {
	return t.g.Exec(`UPDATE conversations SET status = ?, owner_id = ?, title = ?, last_activity_at = ?,
		last_message_at = ?, last_inbound_at = ?, preview = ?, closed_at = ?, last_inbound_id = ?
		WHERE id = ?`,
		string(c.Status), c.OwnerID, c.Title, c.LastActivityAt, c.LastMessageAt, c.LastInboundAt,
		c.Preview, nullTime(c.ClosedAt), c.LastInboundID, c.ID).Error
}

func (t *tx) AddParticipant(ctx context.Context, convID int64, u *inbox.User, now time.Time) error {
	return t.g.Exec(`INSERT INTO participants (conversation_id, user_id, joined_at) VALUES (?, ?, ?)
		ON CONFLICT (conversation_id, user_id) DO NOTHING`, convID, u.ID, now).Error
}

func (t *tx) RemoveParticipant(ctx context.Context, convID, userID int64) error {
	return t.g.Exec(`DELETE FROM participants WHERE conversation_id = ? AND user_id = ?`, convID, userID).Error
}

func (t *tx) AvailableUsers(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var got []int64
	err := t.g.Raw(`SELECT id FROM users WHERE id IN ? AND presence IN ?`,
		ids, stringsOf(inbox.AvailablePresences())).Scan(&got).Error
	for _, id := range got {
		out[id] = true
	}
	return out, err
}

// stringsOf converts a list of domain names (presences, delivery states)
// into the strings stored, for an IN clause.
func stringsOf[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func (t *tx) InsertMessage(ctx context.Context, m *inbox.Message) error {
	var ids []int64
	err := t.g.Raw(`INSERT INTO messages (conversation_id, channel_id, direction, author_id, author_name, text, html,
		external_id, provider_id, delivery, error, auto, meta, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id`,
		m.ConversationID, m.ChannelID, string(m.Direction), m.AuthorID, m.AuthorName, m.Text, m.HTML,
		nullString(m.ExternalID), nullString(m.ProviderID), string(m.Delivery), m.Error, m.Auto,
		encodeMap(m.Meta), m.CreatedAt).Scan(&ids).Error
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		// A concurrent duplicate won: run again and find it.
		return inbox.ErrRetryTx
	}
	m.ID = ids[0]
	return t.insertAttachments(m)
}

// insertAttachments stores m's attachments, assigning their IDs.
func (t *tx) insertAttachments(m *inbox.Message) error {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if a.Size == 0 {
			a.Size = int64(len(a.Data))
		}
		var data any
		if a.Data != nil {
			data = a.Data
		}
		if err := t.g.Raw(`INSERT INTO attachments (message_id, name, mime_type, size, provider_ref, data)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, m.ID, a.Name, a.MIMEType, a.Size, a.ProviderRef, data).Scan(&a.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) EditMessages(ctx context.Context, ms []*inbox.Message) error {
	// Edits are rare and few: a statement each.
	for _, m := range ms {
		if err := t.g.Exec(`UPDATE messages SET text = ?, edited_at = ? WHERE id = ?`, m.Text, m.EditedAt, m.ID).Error; err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) SetDelivery(ctx context.Context, channelID, providerID string, d inbox.Delivery, errText string) (*inbox.Message, error) {
	if providerID == "" {
		return nil, nil
	}
	m, err := t.oneMessage(`m.channel_id = ? AND m.direction = 'out' AND m.provider_id = ?`, channelID, providerID)
	if err == nil && m == nil && !strings.Contains(providerID, ",") {
		// A part of a split reply, whose ids are stored comma-joined
		// (SendResult.ProviderID): only then is the slower match needed.
		m, err = t.oneMessage(`m.channel_id = ? AND m.direction = 'out' AND m.provider_id LIKE '%,%' AND `+
			t.s.position(`?`, `',' || m.provider_id || ','`)+` > 0 ORDER BY m.id DESC`, channelID, ","+providerID+",")
	}
	if err != nil || m == nil {
		return nil, err
	}
	if !m.Delivery.AdvancesTo(d) {
		return nil, nil
	}
	// The guard is the same rule: on PostgreSQL a concurrent report may
	// have moved the message on since it was read, and the UPDATE sees
	// that report's state once it commits.
	res := t.g.Exec(`UPDATE messages SET delivery = ?, error = ? WHERE id = ? AND delivery IN ?`,
		string(d), errText, m.ID, stringsOf(d.AdvancesFrom()))
	if res.Error != nil || res.RowsAffected == 0 {
		return nil, res.Error
	}
	m.Delivery, m.Error = d, errText
	return m, nil
}

func (t *tx) MarkSent(ctx context.Context, outboxID, messageID int64, providerID string) (*inbox.Message, error) {
	// An attempt concludes only a pending message: another attempt (an
	// expired lease) may have concluded it already.
	if err := t.g.Exec(`UPDATE messages SET delivery = ?, provider_id = ?, error = '' WHERE id = ? AND delivery = ?`,
		string(inbox.DeliverySent), nullString(providerID), messageID, string(inbox.DeliveryPending)).Error; err != nil {
		return nil, err
	}
	if err := t.g.Exec(`DELETE FROM outbox WHERE id = ?`, outboxID).Error; err != nil {
		return nil, err
	}
	return t.Message(ctx, messageID)
}

func (t *tx) MarkFailed(ctx context.Context, outboxID, messageID int64, errText string) (*inbox.Message, error) {
	if err := t.g.Exec(`UPDATE messages SET delivery = ?, error = ? WHERE id = ? AND delivery = ?`,
		string(inbox.DeliveryFailed), errText, messageID, string(inbox.DeliveryPending)).Error; err != nil {
		return nil, err
	}
	if err := t.g.Exec(`DELETE FROM outbox WHERE id = ?`, outboxID).Error; err != nil {
		return nil, err
	}
	return t.Message(ctx, messageID)
}

func (t *tx) Reschedule(ctx context.Context, outboxID int64, due time.Time, errText string) error {
	if err := t.g.Exec(`UPDATE outbox SET next_attempt_at = ?, locked_until = NULL, last_error = ? WHERE id = ?`,
		due, errText, outboxID).Error; err != nil {
		return err
	}
	// The pending message shows why it waits (a provider down for
	// minutes is visible in the console); MarkSent clears it.
	return t.g.Exec(`UPDATE messages SET error = ? WHERE delivery = ? AND id = (SELECT message_id FROM outbox WHERE id = ?)`,
		errText, string(inbox.DeliveryPending), outboxID).Error
}

func (t *tx) Enqueue(ctx context.Context, m *inbox.Message, due time.Time) error {
	return t.g.Exec(`INSERT INTO outbox (message_id, conversation_id, channel_id, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, 0, ?, ?)`, m.ID, m.ConversationID, m.ChannelID, due, due).Error
}

func (t *tx) RetryMessage(ctx context.Context, m *inbox.Message, due time.Time) error {
	if err := t.g.Exec(`UPDATE messages SET delivery = ?, error = '' WHERE id = ?`, string(inbox.DeliveryPending), m.ID).Error; err != nil {
		return err
	}
	return t.Enqueue(ctx, m, due)
}

func (t *tx) InsertActivity(ctx context.Context, a *inbox.Activity) error {
	return t.g.Raw(`INSERT INTO activities (queue, kind, conversation_id, actor_id, actor_name, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.Queue, string(a.Kind), a.ConversationID, a.ActorID,
		a.ActorName, encodeMap(a.Data), a.CreatedAt).Scan(&a.ID).Error
}

func (t *tx) InsertEvents(ctx context.Context, evs []inbox.Event) error {
	// One multi-row INSERT per chunk: a group commit writes many events.
	const chunk = 200
	for lo := 0; lo < len(evs); lo += chunk {
		part := evs[lo:min(lo+chunk, len(evs))]
		rows := make([]string, len(part))
		args := make([]any, 0, len(part)*7)
		for i, e := range part {
			rows[i] = "(?, ?, ?, ?, ?, ?, ?)"
			args = append(args, string(e.Kind), e.ConversationID, e.Queue, string(e.Status),
				joinIDs(e.Participants), string(e.Payload), e.CreatedAt)
		}
		q := `INSERT INTO events (kind, conversation_id, queue, status, participants, payload, created_at)
			VALUES ` + strings.Join(rows, ", ") + ` RETURNING id`
		if t.s.dialect == Postgres && lo == 0 {
			// Other replicas hear of the events on commit (and then read
			// the table); the notification rides on the insert, which
			// saves a round trip per transaction.
			q = `WITH ins AS (` + q + `), n AS (SELECT pg_notify(?, '')) SELECT ins.id FROM ins, n ORDER BY ins.id`
			args = append(args, EventsChannel)
		}
		var ids []int64
		if err := t.g.Raw(q, args...).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) != len(part) {
			return fmt.Errorf("insert events: %d ids for %d rows", len(ids), len(part))
		}
		// Both stores return the ids of a multi-row insert in row order.
		for i := range part {
			part[i].ID = ids[i]
		}
	}
	return nil
}

// Savepoint marks a point the transaction can roll back to.
func (t *tx) Savepoint(ctx context.Context, name string) error {
	return t.g.Exec("SAVEPOINT " + name).Error
}

// RollbackTo undoes what the transaction did since the savepoint.
func (t *tx) RollbackTo(ctx context.Context, name string) error {
	return t.g.Exec("ROLLBACK TO SAVEPOINT " + name).Error
}

func (t *tx) SaveCursor(ctx context.Context, c inbox.Cursor) error {
	return t.g.Exec(`INSERT INTO cursors (channel_id, key, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		c.ChannelID, c.Key, c.Value, time.Now().UTC()).Error
}

func (t *tx) Cursor(ctx context.Context, channelID, key string) (string, error) {
	var vs []string
	err := t.g.Raw(`SELECT value FROM cursors WHERE channel_id = ? AND key = ?`, channelID, key).Scan(&vs).Error
	if err != nil || len(vs) == 0 {
		return "", err
	}
	return vs[0], nil
}
