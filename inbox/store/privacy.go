package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/privacy"
)

// A person's data: export, erasure and the retention of conversations
// (inbox/privacy decides; these are its statements).

// idChunk bounds the ids bound into one IN list.
const idChunk = 500

// ContactExport implements privacy.Store. It reads in one transaction, so
// the export is one consistent picture.
func (s *Store) ContactExport(ctx context.Context, contactID int64, maxMessages int) (*privacy.Export, error) {
	var x *privacy.Export
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		var err error
		x, err = contactExport(g, contactID, maxMessages)
		return err
	})
	return x, classify(err)
}

func contactExport(g *gorm.DB, contactID int64, maxMessages int) (*privacy.Export, error) {
	c, err := (&tx{g: g, readOnly: true}).Contact(context.Background(), contactID)
	if err != nil {
		return nil, err
	}
	x := &privacy.Export{Contact: *c, Conversations: []privacy.ExportConversation{},
		RegisteredContacts: []privacy.RegisteredContact{}}
	var convs []conversationRow
	if err := g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.contact_id = ? ORDER BY c.id`,
		contactID).Scan(&convs).Error; err != nil {
		return nil, err
	}
	if len(convs) == 0 {
		return x, nil
	}
	ids := make([]int64, len(convs))
	for i, r := range convs {
		ids[i] = r.ID
	}
	if maxMessages > 0 {
		var n int64
		for _, part := range chunks(ids) {
			var k int64
			if err := g.Raw(`SELECT COUNT(*) FROM messages WHERE conversation_id IN ?`, part).Scan(&k).Error; err != nil {
				return nil, err
			}
			n += k
		}
		if n > int64(maxMessages) {
			return nil, inbox.Errorf(inbox.ETooLarge, "this contact has %d messages, more than an export through the API holds (%d): use inboxd contacts export", n, maxMessages)
		}
	}
	byConv := map[int64]int{}
	for i, r := range convs {
		byConv[r.ID] = i
		x.Conversations = append(x.Conversations, privacy.ExportConversation{ID: r.ID, Number: r.Number,
			ChannelID: r.ChannelID, Queue: r.Queue, Title: r.Title, Subject: r.Subject, Status: inbox.Status(r.Status),
			CreatedAt: r.CreatedAt.UTC(), LastMessageAt: r.LastMessageAt.UTC(), Messages: []inbox.MessageView{}})
	}
	for _, part := range chunks(ids) {
		var ms []messageRow
		if err := g.Raw(`SELECT `+messageCols+` FROM messages m WHERE m.conversation_id IN ? ORDER BY m.id`,
			part).Scan(&ms).Error; err != nil {
			return nil, err
		}
		mids := make([]int64, len(ms))
		for i := range ms {
			mids[i] = ms[i].ID
		}
		atts := map[int64][]inbox.Attachment{}
		for _, mpart := range chunks(mids) {
			as, err := attachmentsOf(g, mpart)
			if err != nil {
				return nil, err
			}
			for _, a := range as {
				atts[a.messageID] = append(atts[a.messageID], a.Attachment)
			}
		}
		for i := range ms {
			m := ms[i].domain()
			m.Attachments = atts[m.ID]
			conv := &x.Conversations[byConv[m.ConversationID]]
			conv.Messages = append(conv.Messages, m.View())
		}
	}
	for _, part := range chunks(ids) {
		var rs []struct {
			ID                            int64
			Queue, ChannelID              string
			ConversationID                int64
			Name, Email, Message, Answers string
			CreatedAt                     time.Time
		}
		if err := g.Raw(`SELECT id, queue, channel_id, conversation_id, name, email, message, answers, created_at
			FROM registered_contacts WHERE conversation_id IN ? ORDER BY id`, part).Scan(&rs).Error; err != nil {
			return nil, err
		}
		for _, r := range rs {
			var ans map[string]string
			_ = json.Unmarshal([]byte(r.Answers), &ans)
			x.RegisteredContacts = append(x.RegisteredContacts, privacy.RegisteredContact{ID: r.ID, Queue: r.Queue,
				ChannelID: r.ChannelID, ConversationID: r.ConversationID, Name: r.Name, Email: r.Email,
				Message: r.Message, Answers: ans, CreatedAt: r.CreatedAt.UTC()})
		}
	}
	return x, nil
}

// EraseContact implements privacy.Store: the contact, locked, its
// conversations with everything of them, its widget visitors and the
// contact row, with the audit entry and events record returns, in one
// transaction. On SQLite the full-text index is then compacted, so that
// the words of the erased messages leave its segments too.
func (s *Store) EraseContact(ctx context.Context, contactID int64, record func(privacy.Erased) (*inbox.AuditEntry, []inbox.Event)) (privacy.Erased, []inbox.Event, error) {
	var er privacy.Erased
	var evs []inbox.Event
	err := s.inTx(ctx, func(t *tx) error {
		er, evs = privacy.Erased{ContactID: contactID}, nil
		var cs []contactRow
		if err := t.g.Raw(`SELECT `+contactCols+` FROM contacts WHERE id = ?`+t.forUpdate(), contactID).Scan(&cs).Error; err != nil {
			return err
		}
		if len(cs) == 0 {
			return inbox.Errorf(inbox.ENotFound, "contact not found")
		}
		var convs []struct {
			ID     int64
			Queue  string
			Status string
		}
		if err := t.g.Raw(`SELECT id, queue, status FROM conversations WHERE contact_id = ? ORDER BY id`+t.forUpdate(),
			contactID).Scan(&convs).Error; err != nil {
			return err
		}
		ids := make([]int64, len(convs))
		for i, c := range convs {
			ids[i] = c.ID
		}
		parts, err := t.participantsOf(ids)
		if err != nil {
			return err
		}
		for _, c := range convs {
			er.Conversations = append(er.Conversations, privacy.ErasedConversation{ID: c.ID, Queue: c.Queue,
				Status: inbox.Status(c.Status), Participants: parts[c.ID]})
		}
		n, err := t.deleteConversations(ids)
		if err != nil {
			return err
		}
		er.Counts = n
		r := t.g.Exec(`DELETE FROM widget_visitors WHERE channel_id = ? AND contact_key = ?`, cs[0].ChannelID, cs[0].ExternalID)
		if r.Error != nil {
			return r.Error
		}
		er.Counts.Visitors = r.RowsAffected
		if r = t.g.Exec(`DELETE FROM contacts WHERE id = ?`, contactID); r.Error != nil {
			return r.Error
		}
		er.Counts.Contacts = r.RowsAffected
		entry, events := record(er)
		if entry != nil {
			if err := t.InsertAudit(ctx, entry); err != nil {
				return err
			}
		}
		if len(events) > 0 {
			if err := t.InsertEvents(ctx, events); err != nil {
				return err
			}
		}
		evs = events
		return nil
	})
	if err != nil {
		return privacy.Erased{}, nil, err
	}
	if s.dialect == SQLite && er.Counts.Messages+er.Counts.Conversations > 0 {
		s.compactSearch(ctx)
	}
	return er, evs, nil
}

// compactSearch merges SQLite's full-text segments: a deleted row's
// words stay in older segments (marked deleted) until a merge rewrites
// them. This rewrites the whole index, so it runs after an erasure only.
// A failure is logged: the rows are gone and no search finds them; the
// next erasure's compaction (or FTS5's own merges) removes the words.
func (s *Store) compactSearch(ctx context.Context) {
	err := s.inTx(ctx, func(t *tx) error {
		for _, ft := range []string{"messages_fts", "conversations_fts"} {
			if err := t.g.Exec(`INSERT INTO ` + ft + `(` + ft + `) VALUES ('optimize')`).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && s.log != nil {
		s.log.Warn("compacting the search index after an erasure failed", "err", err)
	}
}

// participantsOf returns the participants' user ids of conversations.
func (t *tx) participantsOf(ids []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	for _, part := range chunks(ids) {
		var rs []struct{ ConversationID, UserID int64 }
		if err := t.g.Raw(`SELECT conversation_id, user_id FROM participants WHERE conversation_id IN ? ORDER BY conversation_id, user_id`,
			part).Scan(&rs).Error; err != nil {
			return nil, err
		}
		for _, r := range rs {
			out[r.ConversationID] = append(out[r.ConversationID], r.UserID)
		}
	}
	return out, nil
}

// deleteConversations deletes conversations and every row that names
// them: attachments, outbox rows, messages (and, by trigger, their
// SQLite search rows), participants, read marks, automatic-reply marks,
// registered contacts, notifications, activity and events. Contacts stay.
func (t *tx) deleteConversations(ids []int64) (privacy.Counts, error) {
	var n privacy.Counts
	for _, part := range chunks(ids) {
		steps := []struct {
			sql   string
			count *int64
		}{
			{`DELETE FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE conversation_id IN ?)`, &n.Attachments},
			{`DELETE FROM outbox WHERE conversation_id IN ?`, nil},
			{`DELETE FROM messages WHERE conversation_id IN ?`, &n.Messages},
			{`DELETE FROM participants WHERE conversation_id IN ?`, nil},
			{`DELETE FROM reads WHERE conversation_id IN ?`, nil},
			{`DELETE FROM auto_replies WHERE conversation_id IN ?`, nil},
			{`DELETE FROM registered_contacts WHERE conversation_id IN ?`, &n.RegisteredContacts},
			{`DELETE FROM notifications WHERE conversation_id IN ?`, &n.Notifications},
			{`DELETE FROM activities WHERE conversation_id IN ?`, &n.Activities},
			{`DELETE FROM events WHERE conversation_id IN ?`, &n.Events},
			{`DELETE FROM conversations WHERE id IN ?`, &n.Conversations},
		}
		for _, st := range steps {
			r := t.g.Exec(st.sql, part)
			if r.Error != nil {
				return n, r.Error
			}
			if st.count != nil {
				*st.count += r.RowsAffected
			}
		}
	}
	return n, nil
}

// ExpireConversations implements privacy.Store: one transaction deletes
// at most limit inactive conversations the cutoff selects, oldest activity
// first, and then the contacts left without any conversation. On
// PostgreSQL the conversations and contacts are locked with SKIP LOCKED:
// one that a message is reopening right now (its ingest holds the lock)
// is left for the next run, and a contact whose ingest is under way keeps
// its row.
func (s *Store) ExpireConversations(ctx context.Context, c privacy.Cutoff, limit int) (privacy.Counts, error) {
	var n privacy.Counts
	err := s.inTx(ctx, func(t *tx) error {
		n = privacy.Counts{}
		q := `SELECT id, contact_id FROM conversations WHERE status = ? AND last_activity_at < ?`
		args := []any{string(inbox.StatusInactive), c.Before.UTC()}
		switch {
		case c.Queue != "":
			q += ` AND queue = ?`
			args = append(args, c.Queue)
		case len(c.Except) > 0:
			q += ` AND queue NOT IN ?`
			args = append(args, c.Except)
		}
		q += ` ORDER BY last_activity_at, id LIMIT ?`
		args = append(args, limit)
		if s.dialect == Postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		var rs []struct{ ID, ContactID int64 }
		if err := t.g.Raw(q, args...).Scan(&rs).Error; err != nil {
			return err
		}
		if len(rs) == 0 {
			return nil
		}
		ids := make([]int64, len(rs))
		seen := map[int64]bool{}
		var contacts []int64
		for i, r := range rs {
			ids[i] = r.ID
			if !seen[r.ContactID] {
				seen[r.ContactID] = true
				contacts = append(contacts, r.ContactID)
			}
		}
		var err error
		if n, err = t.deleteConversations(ids); err != nil {
			return err
		}
		lock := ""
		if s.dialect == Postgres {
			lock = ` FOR UPDATE SKIP LOCKED`
		}
		for _, part := range chunks(contacts) {
			r := t.g.Exec(`DELETE FROM contacts WHERE id IN (SELECT id FROM contacts WHERE id IN ?
				AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = contacts.id)`+lock+`)`, part)
			if r.Error != nil {
				return r.Error
			}
			n.Contacts += r.RowsAffected
		}
		return nil
	})
	return n, err
}

// FindContacts implements privacy.Store.
func (s *Store) FindContacts(ctx context.Context, l privacy.Lookup) ([]inbox.Contact, error) {
	var rs []contactRow
	var err error
	if l.Email != "" {
		err = s.read(ctx).Raw(`SELECT `+contactCols+` FROM contacts WHERE lower(email) = ? ORDER BY id LIMIT 100`,
			strings.ToLower(l.Email)).Scan(&rs).Error
	} else {
		err = s.read(ctx).Raw(`SELECT `+contactCols+` FROM contacts WHERE channel_id = ? AND external_id = ? ORDER BY id LIMIT 100`,
			l.ChannelID, l.ExternalID).Scan(&rs).Error
	}
	if err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.Contact, len(rs))
	for i := range rs {
		out[i] = *rs[i].domain()
	}
	return out, nil
}

// chunks splits ids into runs of at most idChunk.
func chunks(ids []int64) [][]int64 {
	var out [][]int64
	for len(ids) > 0 {
		k := min(len(ids), idChunk)
		out = append(out, ids[:k])
		ids = ids[k:]
	}
	return out
}

var _ privacy.Store = (*Store)(nil)
