package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
)

// SeedOptions describe a synthetic data set.
type SeedOptions struct {
	Conversations int
	// MessagesPer is the number of messages per conversation (≥ 1).
	MessagesPer int
	// Channels the conversations are spread over (round robin).
	Channels []inbox.ChannelInfo
	// Agents are users (ids) made participant and owner of the active
	// and inactive conversations, round robin; unassigned ones have none.
	// Empty: no conversation has a participant.
	Agents []int64
	// Start is the oldest activity; each conversation is a second newer.
	Start time.Time
	// Events adds a message.created event per message (the live feeds'
	// replay source), as the service writes them.
	Events bool
	// Statuses are given to the conversations in turn (default: inactive,
	// unassigned, active, inactive).
	Statuses []inbox.Status
	// Batch is the rows per INSERT statement (default 500).
	Batch int
	// Progress, when set, is called after each batch with the count done.
	Progress func(done int)
}

// Seed bulk-loads synthetic contacts, conversations (every status),
// participants (with Agents) and messages with multi-row INSERTs, far faster than the service. It is for
// benchmarks and load tests, never for real data.
func (s *Store) Seed(ctx context.Context, o SeedOptions) error {
	if o.Conversations <= 0 || len(o.Channels) == 0 {
		return fmt.Errorf("seed: conversations and channels are required")
	}
	if o.MessagesPer < 1 {
		o.MessagesPer = 1
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Start.IsZero() {
		o.Start = time.Now().UTC().Add(-time.Duration(o.Conversations) * time.Second)
	}
	db := s.db.WithContext(ctx)
	var base struct{ Contacts, Convs, Msgs, Number int64 }
	if err := db.Raw(`SELECT (SELECT COALESCE(MAX(id), 0) FROM contacts) AS contacts,
		(SELECT COALESCE(MAX(id), 0) FROM conversations) AS convs,
		(SELECT COALESCE(MAX(id), 0) FROM messages) AS msgs,
		(SELECT COALESCE(MAX(number), 0) FROM conversations) AS number`).Scan(&base).Error; err != nil {
		return classify(err)
	}
	statuses := []inbox.Status{inbox.StatusInactive, inbox.StatusUnassigned, inbox.StatusActive, inbox.StatusInactive}
	if len(o.Statuses) > 0 {
		statuses = o.Statuses
	}
	assigned := 0 // conversations given an agent so far: the round robin's position
	for from := 0; from < o.Conversations; from += o.Batch {
		to := min(from+o.Batch, o.Conversations)
		err := db.Transaction(func(tx *gorm.DB) error {
			var cs, vs, ms, ps, es []string
			var ca, va, ma, pa, ea []any
			for i := from; i < to; i++ {
				ch := o.Channels[i%len(o.Channels)]
				cid, vid := base.Contacts+int64(i)+1, base.Convs+int64(i)+1
				at := o.Start.Add(time.Duration(i) * time.Second)
				cs = append(cs, "(?, ?, ?, ?, ?, ?)")
				ca = append(ca, cid, ch.ID, fmt.Sprintf("seed-%d", cid), fmt.Sprintf("Customer %d", cid), at, at)
				st := statuses[i%len(statuses)]
				var closed any
				if st == inbox.StatusInactive {
					closed = at
				}
				var owner int64
				if st != inbox.StatusUnassigned && len(o.Agents) > 0 {
					owner = o.Agents[assigned%len(o.Agents)]
					assigned++
					ps = append(ps, "(?, ?, ?)")
					pa = append(pa, vid, owner, at)
				}
				text := fmt.Sprintf("Message about order %d and delivery", vid)
				vs = append(vs, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				va = append(va, vid, base.Number+int64(i)+1, fmt.Sprintf("seed%x", vid), ch.ID, ch.Queue, cid,
					fmt.Sprintf("Customer %d", cid), string(st), owner, at, at, at, text, closed, at)
				for k := 0; k < o.MessagesPer; k++ {
					mtext := fmt.Sprintf("%s text %d of conversation %d", text, k, vid)
					ms = append(ms, "(?, ?, ?, ?, ?, ?)")
					ma = append(ma, vid, ch.ID, "in", mtext, fmt.Sprintf("seed-%d-%d", vid, k), at)
					if o.Events {
						var parts string
						if owner != 0 {
							parts = fmt.Sprint(owner)
						}
						payload, _ := json.Marshal(inbox.MessageView{ConversationID: vid, Direction: inbox.DirectionIn,
							Author: &inbox.Participant{Name: fmt.Sprintf("Customer %d", cid)}, Text: mtext,
							Attachments: []inbox.AttachmentView{}, CreatedAt: at})
						es = append(es, "(?, ?, ?, ?, ?, ?, ?)")
						ea = append(ea, string(inbox.EventMessageCreated), vid, ch.Queue, string(st), parts, string(payload), at)
					}
				}
			}
			if err := tx.Exec(`INSERT INTO contacts (id, channel_id, external_id, name, created_at, updated_at) VALUES `+
				strings.Join(cs, ","), ca...).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO conversations (id, number, token, channel_id, queue, contact_id, title, status,
				owner_id, last_activity_at, last_message_at, last_inbound_at, preview, closed_at, created_at) VALUES `+
				strings.Join(vs, ","), va...).Error; err != nil {
				return err
			}
			if len(ps) > 0 {
				if err := tx.Exec(`INSERT INTO participants (conversation_id, user_id, joined_at) VALUES `+
					strings.Join(ps, ","), pa...).Error; err != nil {
					return err
				}
			}
			// Messages go in chunks that keep under the parameter limits.
			per := 6
			chunk := max(1, 30000/per)
			for lo := 0; lo < len(ms); lo += chunk {
				hi := min(lo+chunk, len(ms))
				if err := tx.Exec(`INSERT INTO messages (conversation_id, channel_id, direction, text, external_id, created_at) VALUES `+
					strings.Join(ms[lo:hi], ","), ma[lo*per:hi*per]...).Error; err != nil {
					return err
				}
			}
			per = 7
			chunk = max(1, 30000/per)
			for lo := 0; lo < len(es); lo += chunk {
				hi := min(lo+chunk, len(es))
				if err := tx.Exec(`INSERT INTO events (kind, conversation_id, queue, status, participants, payload, created_at) VALUES `+
					strings.Join(es[lo:hi], ","), ea[lo*per:hi*per]...).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return classify(err)
		}
		if o.Progress != nil {
			o.Progress(to)
		}
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE counters SET value = ? WHERE name = 'conversation'`, base.Number+int64(o.Conversations)).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE conversations SET last_inbound_id = (SELECT MAX(id) FROM messages m WHERE m.conversation_id = conversations.id) WHERE id > ?`, base.Convs).Error; err != nil {
			return err
		}
		if s.dialect == Postgres {
			if err := tx.Exec(`SELECT setval('conversation_number', ?)`, base.Number+int64(o.Conversations)).Error; err != nil {
				return err
			}
			for _, t := range []string{"contacts", "conversations", "messages"} {
				if err := tx.Exec(`SELECT setval(pg_get_serial_sequence('` + t + `', 'id'), (SELECT MAX(id) FROM ` + t + `))`).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`ANALYZE`).Error
		}
		return tx.Exec(`ANALYZE`).Error
	})
	return classify(err)
}
