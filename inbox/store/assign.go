package store

import (
	"context"
	"encoding/json"

	"github.com/inboxd/inboxd/inbox"
)

// Assignment and private notes: the transaction work of inbox.AssignTx,
// and the colleague list the console's pickers read.

func (t *tx) UsersByID(ctx context.Context, ids []int64) (map[int64]*inbox.User, error) {
	out := map[int64]*inbox.User{}
	if len(ids) == 0 {
		return out, nil
	}
	var rs []userRow
	if err := t.g.Raw(`SELECT `+userCols+` FROM users u WHERE u.id IN ?`, ids).Scan(&rs).Error; err != nil {
		return nil, err
	}
	for i := range rs {
		out[rs[i].ID] = rs[i].domain()
	}
	return out, nil
}

func (t *tx) MoveConversation(ctx context.Context, conversationID int64, queue string) error {
	return t.g.Exec(`UPDATE conversations SET queue = ? WHERE id = ?`, queue, conversationID).Error
}

func (t *tx) InsertNote(ctx context.Context, m *inbox.Message) error {
	if !m.IsNote() {
		return inbox.Errorf(inbox.EInternal, "InsertNote takes notes only")
	}
	return t.g.Raw(`INSERT INTO messages (conversation_id, channel_id, direction, author_id, author_name, text,
		kind, mentions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.ConversationID, m.ChannelID, string(m.Direction), m.AuthorID, m.AuthorName, m.Text,
		string(inbox.KindNote), encodeMentions(m.Mentions), m.CreatedAt).Scan(&m.ID).Error
}

func encodeMentions(ps []inbox.Participant) string {
	if len(ps) == 0 {
		return ""
	}
	b, _ := json.Marshal(ps)
	return string(b)
}

func decodeMentions(s string) []inbox.Participant {
	if s == "" {
		return nil
	}
	var ps []inbox.Participant
	if json.Unmarshal([]byte(s), &ps) != nil {
		return nil
	}
	return ps
}

// Colleagues returns every user, deactivated ones included (marked), by
// name: the candidates of the console's assign picker and @ mentions.
func (s *Store) Colleagues(ctx context.Context) ([]inbox.User, error) {
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
