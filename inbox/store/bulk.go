package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// The bulk forms of the ingest statements, for group commit's fast path:
// one statement for a whole group instead of one per message, which is
// what a group's cost is on PostgreSQL (a round trip each). Rows are
// matched back by their unique keys, never by the order RETURNING gives.

// rowsSQL is "(?, ?), (?, ?)" for n rows of cols placeholders each; cast,
// when given, types each column of the first row (PostgreSQL infers a
// VALUES list's column types from it).
func rowsSQL(n, cols int, cast []string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
			if i == 0 && cast != nil {
				b.WriteString("::" + cast[j])
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (t *tx) UpsertContacts(ctx context.Context, cs []inbox.ContactUpsert, now time.Time) ([]*inbox.Contact, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(cs)*9)
	for _, c := range cs {
		ci := c.Info
		args = append(args, c.ChannelID, ci.ExternalID, ci.Name, ci.Username, ci.Email, ci.Phone, encodeMap(ci.Meta), now, now)
	}
	// Rows come in the caller's (sorted) order, so concurrent groups lock
	// shared contacts in one order. DO UPDATE (never DO NOTHING) locks
	// each row until commit.
	var rs []contactRow
	err := t.g.Raw(`INSERT INTO contacts (channel_id, external_id, name, username, email, phone, meta, created_at, updated_at)
		VALUES `+rowsSQL(len(cs), 9, nil)+`
		ON CONFLICT (channel_id, external_id) DO UPDATE SET
		  name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE contacts.name END,
		  username = CASE WHEN excluded.username <> '' THEN excluded.username ELSE contacts.username END,
		  email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE contacts.email END,
		  phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE contacts.phone END,
		  meta = CASE WHEN excluded.meta <> '' THEN excluded.meta ELSE contacts.meta END,
		  updated_at = excluded.updated_at
		RETURNING `+contactCols, args...).Scan(&rs).Error
	if err != nil {
		return nil, err
	}
	byKey := make(map[inbox.MessageKey]*inbox.Contact, len(rs))
	for i := range rs {
		byKey[inbox.MessageKey{ChannelID: rs[i].ChannelID, ExternalID: rs[i].ExternalID}] = rs[i].domain()
	}
	out := make([]*inbox.Contact, len(cs))
	for i, c := range cs {
		if out[i] = byKey[inbox.MessageKey{ChannelID: c.ChannelID, ExternalID: c.Info.ExternalID}]; out[i] == nil {
			return nil, fmt.Errorf("upsert contacts: no row for %s/%s", c.ChannelID, c.Info.ExternalID)
		}
	}
	return out, nil
}

func (t *tx) MessagesByExternalIDs(ctx context.Context, keys []inbox.MessageKey) (map[inbox.MessageKey]*inbox.Message, error) {
	out := map[inbox.MessageKey]*inbox.Message{}
	if len(keys) == 0 {
		return out, nil
	}
	where, args := byChannel(keys, "m.channel_id", "m.external_id")
	var rs []messageRow
	if err := t.g.Raw(`SELECT `+messageCols+` FROM messages m WHERE `+where, args...).Scan(&rs).Error; err != nil {
		return nil, err
	}
	for i := range rs {
		m := rs[i].domain()
		out[inbox.MessageKey{ChannelID: m.ChannelID, ExternalID: m.ExternalID}] = m
	}
	return out, nil
}

// byChannel is the WHERE clause matching keys, one IN list per channel,
// so that each uses the (channel, key) unique index.
func byChannel(keys []inbox.MessageKey, channelCol, keyCol string) (string, []any) {
	perChannel := map[string][]string{}
	for _, k := range keys {
		perChannel[k.ChannelID] = append(perChannel[k.ChannelID], k.ExternalID)
	}
	channels := make([]string, 0, len(perChannel))
	for ch := range perChannel {
		channels = append(channels, ch)
	}
	sort.Strings(channels)
	where := make([]string, len(channels))
	args := make([]any, 0, 2*len(channels))
	for i, ch := range channels {
		where[i] = "(" + channelCol + " = ? AND " + keyCol + " IN ?)"
		args = append(args, ch, perChannel[ch])
	}
	return strings.Join(where, " OR "), args
}

func (t *tx) ConversationIDsByTokens(ctx context.Context, keys []inbox.MessageKey) (map[inbox.MessageKey]int64, error) {
	out := map[inbox.MessageKey]int64{}
	if len(keys) == 0 {
		return out, nil
	}
	where, args := byChannel(keys, "channel_id", "token")
	var rs []struct {
		ID        int64
		ChannelID string
		Token     string
	}
	if err := t.g.Raw(`SELECT id, channel_id, token FROM conversations WHERE `+where, args...).Scan(&rs).Error; err != nil {
		return nil, err
	}
	for _, r := range rs {
		out[inbox.MessageKey{ChannelID: r.ChannelID, ExternalID: r.Token}] = r.ID
	}
	return out, nil
}

// ConversationsByIDs loads and locks conversations in id order (one lock
// order for every transaction).
func (t *tx) ConversationsByIDs(ctx context.Context, ids []int64) (map[int64]*inbox.Conversation, error) {
	out := map[int64]*inbox.Conversation{}
	if len(ids) == 0 {
		return out, nil
	}
	var rs []conversationRow
	if err := t.g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.id IN ? ORDER BY c.id`+t.forUpdate(),
		ids).Scan(&rs).Error; err != nil {
		return nil, err
	}
	return t.withParticipants(rs)
}

// withParticipants is rs as conversations by id, with their participants.
func (t *tx) withParticipants(rs []conversationRow) (map[int64]*inbox.Conversation, error) {
	out := make(map[int64]*inbox.Conversation, len(rs))
	ids := make([]int64, 0, len(rs))
	for i := range rs {
		out[rs[i].ID] = rs[i].domain()
		ids = append(ids, rs[i].ID)
	}
	parts, err := participants(t.g, ids)
	if err != nil {
		return nil, err
	}
	for id, c := range out {
		c.Participants = parts[id]
	}
	return out, nil
}

func (t *tx) LatestConversations(ctx context.Context, refs []inbox.ThreadRef) (map[inbox.ThreadRef]*inbox.Conversation, error) {
	out := map[inbox.ThreadRef]*inbox.Conversation{}
	if len(refs) == 0 {
		return out, nil
	}
	contacts, keys := map[int64]bool{}, map[string]bool{}
	var contactIDs []int64
	var threadKeys []string
	for _, r := range refs {
		if !contacts[r.ContactID] {
			contacts[r.ContactID] = true
			contactIDs = append(contactIDs, r.ContactID)
		}
		if !keys[r.ThreadKey] {
			keys[r.ThreadKey] = true
			threadKeys = append(threadKeys, r.ThreadKey)
		}
	}
	// The newest conversation of every (contact, thread key) pair asked
	// for, from the conversations_contact index, found and locked in one
	// statement. Pairs nobody asked for (the cross product) are dropped.
	var rs []conversationRow
	if err := t.g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.id IN (
		SELECT MAX(id) FROM conversations WHERE contact_id IN ? AND thread_key IN ? GROUP BY contact_id, thread_key)
		ORDER BY c.id`+t.forUpdate(), contactIDs, threadKeys).Scan(&rs).Error; err != nil {
		return nil, err
	}
	want := make(map[inbox.ThreadRef]bool, len(refs))
	for _, r := range refs {
		want[r] = true
	}
	kept := rs[:0]
	keyOf := map[int64]string{}
	for _, r := range rs {
		if want[inbox.ThreadRef{ContactID: r.ContactID, ThreadKey: r.ThreadKey}] {
			kept = append(kept, r)
			keyOf[r.ID] = r.ThreadKey
		}
	}
	byID, err := t.withParticipants(kept)
	if err != nil {
		return nil, err
	}
	for _, c := range byID {
		out[inbox.ThreadRef{ContactID: c.ContactID, ThreadKey: keyOf[c.ID]}] = c
	}
	return out, nil
}

func (t *tx) CreateConversations(ctx context.Context, cs []*inbox.Conversation, threadKeys []string) error {
	if len(cs) == 0 {
		return nil
	}
	numbers, err := t.nextNumbers(len(cs))
	if err != nil {
		return err
	}
	args := make([]any, 0, len(cs)*15)
	byToken := make(map[string]*inbox.Conversation, len(cs))
	for i, c := range cs {
		c.Number = numbers[i]
		byToken[c.Token] = c
		args = append(args, c.Number, c.Token, c.ChannelID, c.Queue, c.ContactID, threadKeys[i], c.Title, c.Subject,
			string(c.Status), c.OwnerID, c.CreatedAt, c.CreatedAt, c.CreatedAt, "", c.CreatedAt)
	}
	var rs []struct {
		ID    int64
		Token string
	}
	if err := t.g.Raw(`INSERT INTO conversations (number, token, channel_id, queue, contact_id, thread_key, title, subject,
		status, owner_id, last_activity_at, last_message_at, last_inbound_at, preview, created_at)
		VALUES `+rowsSQL(len(cs), 15, nil)+` RETURNING id, token`, args...).Scan(&rs).Error; err != nil {
		return err
	}
	for _, r := range rs {
		if c := byToken[r.Token]; c != nil {
			c.ID = r.ID
		}
	}
	for _, c := range cs {
		if c.ID == 0 {
			return fmt.Errorf("create conversations: no id for number %d", c.Number)
		}
	}
	return nil
}

// nextNumbers takes n conversation numbers, ascending.
func (t *tx) nextNumbers(n int) ([]int64, error) {
	var out []int64
	if t.s.dialect == Postgres {
		if err := t.g.Raw(`SELECT nextval('conversation_number') FROM generate_series(1, ?)`, n).Scan(&out).Error; err != nil {
			return nil, err
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	} else {
		var last int64
		if err := t.g.Raw(`UPDATE counters SET value = value + ? WHERE name = 'conversation' RETURNING value`, n).Scan(&last).Error; err != nil {
			return nil, err
		}
		for i := range n {
			out = append(out, last-int64(n)+1+int64(i))
		}
	}
	if len(out) != n || out[0] <= 0 {
		return nil, fmt.Errorf("conversation counter: %d numbers for %d", len(out), n)
	}
	return out, nil
}

func (t *tx) InsertMessages(ctx context.Context, ms []*inbox.Message) error {
	if len(ms) == 0 {
		return nil
	}
	args := make([]any, 0, len(ms)*14)
	byKey := make(map[string]*inbox.Message, len(ms))
	for _, m := range ms {
		if m.ExternalID == "" {
			return fmt.Errorf("insert messages: a message without an external id")
		}
		byKey[m.ChannelID+"\x00"+m.ExternalID] = m
		args = append(args, m.ConversationID, m.ChannelID, string(m.Direction), m.AuthorID, m.AuthorName, m.Text, m.HTML,
			m.ExternalID, nullString(m.ProviderID), string(m.Delivery), m.Error, m.Auto, encodeMap(m.Meta), m.CreatedAt)
	}
	var rs []struct {
		ID         int64
		ChannelID  string
		ExternalID string
	}
	if err := t.g.Raw(`INSERT INTO messages (conversation_id, channel_id, direction, author_id, author_name, text, html,
		external_id, provider_id, delivery, error, auto, meta, created_at)
		VALUES `+rowsSQL(len(ms), 14, nil)+`
		ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id, channel_id, external_id`, args...).Scan(&rs).Error; err != nil {
		return err
	}
	if len(rs) != len(ms) {
		// A concurrent duplicate won (another replica): the caller runs
		// the group again, message by message.
		return inbox.ErrRetryTx
	}
	for _, r := range rs {
		if m := byKey[r.ChannelID+"\x00"+r.ExternalID]; m != nil {
			m.ID = r.ID
		}
	}
	for _, m := range ms {
		if m.ID == 0 {
			return fmt.Errorf("insert messages: no id for %s/%s", m.ChannelID, m.ExternalID)
		}
		if err := t.insertAttachments(m); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) UpdateConversations(ctx context.Context, cs []*inbox.Conversation) error {
	if len(cs) == 0 {
		return nil
	}
	if len(cs) == 1 {
		return t.UpdateConversation(ctx, cs[0])
	}
	args := make([]any, 0, len(cs)*10)
	for _, c := range cs {
		args = append(args, c.ID, string(c.Status), c.OwnerID, c.Title, c.LastActivityAt, c.LastMessageAt,
			c.LastInboundAt, c.Preview, nullTime(c.ClosedAt), c.LastInboundID)
	}
	const cols = "id, status, owner_id, title, last_activity_at, last_message_at, last_inbound_at, preview, closed_at, last_inbound_id"
	// PostgreSQL names a VALUES list's columns in its alias and types them
	// from the first row; SQLite calls them column1, column2, ...
	from := `(VALUES ` + rowsSQL(len(cs), 10, []string{"bigint", "text", "bigint", "text", "timestamptz", "timestamptz",
		"timestamptz", "text", "timestamptz", "bigint"}) + `) AS v(` + cols + `)`
	if t.s.dialect == SQLite {
		var names []string
		for i, c := range strings.Split(cols, ", ") {
			names = append(names, fmt.Sprintf("column%d AS %s", i+1, c))
		}
		from = `(SELECT ` + strings.Join(names, ", ") + ` FROM (VALUES ` + rowsSQL(len(cs), 10, nil) + `)) AS v`
	}
	return t.g.Exec(`UPDATE conversations SET status = v.status, owner_id = v.owner_id, title = v.title,
		last_activity_at = v.last_activity_at, last_message_at = v.last_message_at, last_inbound_at = v.last_inbound_at,
		preview = v.preview, closed_at = v.closed_at, last_inbound_id = v.last_inbound_id
		FROM `+from+` WHERE conversations.id = v.id`, args...).Error
}

func (t *tx) InsertActivities(ctx context.Context, as []*inbox.Activity) error {
	if len(as) == 0 {
		return nil
	}
	args := make([]any, 0, len(as)*7)
	for _, a := range as {
		args = append(args, a.Queue, string(a.Kind), a.ConversationID, a.ActorID, a.ActorName, encodeMap(a.Data), a.CreatedAt)
	}
	// Nothing reads these ids back on the ingest path: no RETURNING.
	return t.g.Exec(`INSERT INTO activities (queue, kind, conversation_id, actor_id, actor_name, data, created_at)
		VALUES `+rowsSQL(len(as), 7, nil), args...).Error
}
