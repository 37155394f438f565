package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
)

// Outgoing event webhooks: each subscriber's cursor and delivery state
// (migration 0013). The deliveries themselves are read from the events
// table after the cursor.

// EnsureWebhookSubscribers implements inbox.WebhookStore: a subscriber
// without a row starts at the newest event.
func (s *Store) EnsureWebhookSubscribers(ctx context.Context, ids []string) error {
	return s.writeWebhooks(ctx, func(g *gorm.DB) error {
		for _, id := range ids {
			// WHERE true: SQLite reads ON CONFLICT after a bare SELECT's
			// FROM as a join constraint.
			if err := g.Exec(`INSERT INTO webhook_subscribers (id, last_event_id, created_at)
				SELECT ?, COALESCE(MAX(id), 0), ? FROM events WHERE true
				ON CONFLICT (id) DO NOTHING`, id, time.Now().UTC()).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// WebhookStates implements inbox.WebhookStore.
func (s *Store) WebhookStates(ctx context.Context) ([]inbox.WebhookState, error) {
	var rs []struct {
		ID                                        string
		LastEventID, Delivered, Missed, Attempts  int64
		LastSuccessAt, LastErrorAt, NextAttemptAt sql.NullTime
		LastError                                 string
	}
	if err := s.read(ctx).Raw(`SELECT id, last_event_id, delivered, missed, attempts, last_success_at,
		last_error, last_error_at, next_attempt_at FROM webhook_subscribers ORDER BY id`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.WebhookState, len(rs))
	for i, r := range rs {
		out[i] = inbox.WebhookState{ID: r.ID, LastEventID: r.LastEventID, Delivered: r.Delivered, Missed: r.Missed,
			Attempts: int(r.Attempts), LastError: r.LastError, LastSuccessAt: timePtr(r.LastSuccessAt),
			LastErrorAt: timePtr(r.LastErrorAt), NextAttemptAt: timePtr(r.NextAttemptAt)}
	}
	return out, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// AdvanceWebhook implements inbox.WebhookStore: a compare-and-set on the
// cursor, so that a replay made meanwhile (on any replica) wins.
func (s *Store) AdvanceWebhook(ctx context.Context, id string, from, to, delivered, missed int64, at time.Time) (bool, error) {
	var n int64
	err := s.writeWebhooks(ctx, func(g *gorm.DB) error {
		q := `UPDATE webhook_subscribers SET last_event_id = ?, delivered = delivered + ?, missed = missed + ?`
		args := []any{to, delivered, missed}
		if delivered > 0 {
			q += `, attempts = 0, last_success_at = ?, next_attempt_at = NULL`
			args = append(args, at.UTC())
		}
		r := g.Exec(q+` WHERE id = ? AND last_event_id = ?`, append(args, id, from)...)
		n = r.RowsAffected
		return r.Error
	})
	return n == 1, err
}

// WebhookFailed implements inbox.WebhookStore.
func (s *Store) WebhookFailed(ctx context.Context, id string, cursor int64, msg string, attempts int, at, next time.Time) (bool, error) {
	var n int64
	err := s.writeWebhooks(ctx, func(g *gorm.DB) error {
		r := g.Exec(`UPDATE webhook_subscribers SET attempts = ?, last_error = ?, last_error_at = ?, next_attempt_at = ?
			WHERE id = ? AND last_event_id = ?`, attempts, msg, at.UTC(), next.UTC(), id, cursor)
		n = r.RowsAffected
		return r.Error
	})
	return n == 1, err
}

// ReplayWebhook implements inbox.WebhookStore.
func (s *Store) ReplayWebhook(ctx context.Context, id string, from int64) error {
	return s.writeWebhooks(ctx, func(g *gorm.DB) error {
		r := g.Exec(`UPDATE webhook_subscribers SET last_event_id = ?, attempts = 0, next_attempt_at = NULL WHERE id = ?`, from, id)
		if r.Error == nil && r.RowsAffected == 0 {
			return inbox.Errorf(inbox.ENotFound, "no webhook subscriber %q", id)
		}
		return r.Error
	})
}

// PreviousConversationEvent implements inbox.WebhookStore, read by the
// events_conversation index.
func (s *Store) PreviousConversationEvent(ctx context.Context, conversationID, beforeID int64) (*inbox.Event, error) {
	kinds := make([]string, len(inbox.ConversationEventKinds))
	for i, k := range inbox.ConversationEventKinds {
		kinds[i] = string(k)
	}
	var rs []struct {
		ID             int64
		Kind           string
		ConversationID int64
		Queue, Status  string
		Participants   string
		Payload        string
		CreatedAt      time.Time
	}
	if err := s.read(ctx).Raw(`SELECT id, kind, conversation_id, queue, status, participants, payload, created_at
		FROM events WHERE conversation_id = ? AND id < ? AND kind IN ? ORDER BY id DESC LIMIT 1`,
		conversationID, beforeID, kinds).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	r := rs[0]
	return &inbox.Event{ID: r.ID, Kind: inbox.EventKind(r.Kind), ConversationID: r.ConversationID, Queue: r.Queue,
		Status: inbox.Status(r.Status), Participants: splitIDs(r.Participants), Payload: []byte(r.Payload),
		CreatedAt: r.CreatedAt.UTC()}, nil
}

// RegisteredContact implements inbox.WebhookStore: the contact form's row
// of a conversation, as the contacts list shows it.
func (s *Store) RegisteredContact(ctx context.Context, conversationID int64) (json.RawMessage, error) {
	var rs []struct {
		ID                            int64
		Queue, ChannelID              string
		ConversationID                int64
		Name, Email, Message, Answers string
		CreatedAt                     time.Time
	}
	if err := s.read(ctx).Raw(`SELECT id, queue, channel_id, conversation_id, name, email, message, answers, created_at
		FROM registered_contacts WHERE conversation_id = ? ORDER BY id LIMIT 1`, conversationID).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	r := rs[0]
	ans := map[string]string{}
	_ = json.Unmarshal([]byte(r.Answers), &ans)
	return json.Marshal(queues.Contact{ID: r.ID, Queue: r.Queue, ChannelID: r.ChannelID, ConversationID: r.ConversationID,
		Name: r.Name, Email: r.Email, Message: r.Message, Answers: ans, CreatedAt: r.CreatedAt.UTC()})
}

// TxHorizon implements inbox.WebhookStore. On PostgreSQL it is the
// current snapshot's xmin and xmax; SQLite has one writer at a time, so an
// id committed means every smaller one has committed or rolled back.
func (s *Store) TxHorizon(ctx context.Context) (xmin, xmax int64, err error) {
	if s.dialect != Postgres {
		return math.MaxInt64, 0, nil
	}
	err = s.read(ctx).Raw(`SELECT txid_snapshot_xmin(txid_current_snapshot()), txid_snapshot_xmax(txid_current_snapshot())`).
		Row().Scan(&xmin, &xmax)
	return xmin, xmax, classify(err)
}

// writeWebhooks runs fn in a write transaction (SQLite's writers are
// serialized by InTx).
func (s *Store) writeWebhooks(ctx context.Context, fn func(g *gorm.DB) error) error {
	return classify(s.InTx(ctx, func(itx inbox.Tx) error { return fn(itx.(*tx).g) }))
}

var _ inbox.WebhookStore = (*Store)(nil)
