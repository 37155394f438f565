package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
)

// Persistence of tags and canned replies (migration 0011).

// InWorkspaceTx implements inbox.WorkspaceStore.
func (s *Store) InWorkspaceTx(ctx context.Context, fn func(tx inbox.WorkspaceTx) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		return fn(&tx{g: g, s: s})
	})
	return classify(err)
}

type tagRow struct {
	ID        int64
	Name      string
	Color     string
	CreatedAt time.Time
}

func (r tagRow) domain() inbox.Tag {
	return inbox.Tag{ID: r.ID, Name: r.Name, Color: r.Color, CreatedAt: r.CreatedAt.UTC()}
}

// Tags implements inbox.WorkspaceStore.
func (s *Store) Tags(ctx context.Context) ([]inbox.Tag, error) {
	var rs []tagRow
	if err := s.read(ctx).Raw(`SELECT id, name, color, created_at FROM tags ORDER BY name`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.Tag, len(rs))
	for i, r := range rs {
		out[i] = r.domain()
	}
	return out, nil
}

// TagID returns the id of the tag named name (0: none).
func (s *Store) TagID(ctx context.Context, name string) (int64, error) {
	var ids []int64
	if err := s.read(ctx).Raw(`SELECT id FROM tags WHERE name = ?`, name).Scan(&ids).Error; err != nil {
		return 0, classify(err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	return ids[0], nil
}

func (t *tx) TagsNamed(ctx context.Context, names []string) ([]inbox.Tag, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var rs []tagRow
	if err := t.g.Raw(`SELECT id, name, color, created_at FROM tags WHERE name IN ? ORDER BY name`, names).Scan(&rs).Error; err != nil {
		return nil, err
	}
	out := make([]inbox.Tag, len(rs))
	for i, r := range rs {
		out[i] = r.domain()
	}
	return out, nil
}

func (t *tx) CountTags(ctx context.Context) (int, error) {
	var n int
	err := t.g.Raw(`SELECT COUNT(*) FROM tags`).Scan(&n).Error
	return n, err
}

func (t *tx) InsertTag(ctx context.Context, tag *inbox.Tag) error {
	return t.g.Raw(`INSERT INTO tags (name, color, created_at) VALUES (?, ?, ?) RETURNING id`,
		tag.Name, tag.Color, tag.CreatedAt.UTC()).Scan(&tag.ID).Error
}

func (t *tx) DeleteTag(ctx context.Context, id int64) error {
	r := t.g.Exec(`DELETE FROM tags WHERE id = ?`, id)
	if r.Error != nil {
		return r.Error
	}
	if r.RowsAffected == 0 {
		return inbox.Errorf(inbox.ENotFound, "tag not found")
	}
	return nil
}

func (t *tx) ConversationTags(ctx context.Context, convID int64) ([]string, error) {
	m, err := conversationTags(t.g, []int64{convID})
	return m[convID], err
}

// SetConversationTags replaces the conversation's tags; new rows copy the
// conversation's last_activity_at as stored (the journal index's order).
func (t *tx) SetConversationTags(ctx context.Context, convID int64, tagIDs []int64) error {
	var err error
	if len(tagIDs) == 0 {
		err = t.g.Exec(`DELETE FROM conversation_tags WHERE conversation_id = ?`, convID).Error
	} else {
		err = t.g.Exec(`DELETE FROM conversation_tags WHERE conversation_id = ? AND tag_id NOT IN ?`, convID, tagIDs).Error
	}
	if err != nil {
		return err
	}
	if len(tagIDs) == 0 {
		return nil
	}
	return t.g.Exec(`INSERT INTO conversation_tags (conversation_id, tag_id, last_activity_at)
		SELECT c.id, tg.id, c.last_activity_at FROM conversations c, tags tg WHERE c.id = ? AND tg.id IN ?
		ON CONFLICT (conversation_id, tag_id) DO NOTHING`, convID, tagIDs).Error
}

// conversationTags loads the tag names of several conversations in one
// query, each sorted.
func conversationTags(g *gorm.DB, convIDs []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(convIDs) == 0 {
		return out, nil
	}
	var rs []struct {
		ConversationID int64
		Name           string
	}
	if err := g.Raw(`SELECT ct.conversation_id, tg.name FROM conversation_tags ct JOIN tags tg ON tg.id = ct.tag_id
		WHERE ct.conversation_id IN ? ORDER BY ct.conversation_id, tg.name`, convIDs).Scan(&rs).Error; err != nil {
		return nil, err
	}
	for _, r := range rs {
		out[r.ConversationID] = append(out[r.ConversationID], r.Name)
	}
	return out, nil
}

type cannedRow struct {
	ID        int64
	Shortcut  string
	Title     string
	Text      string
	Queue     string
	OwnerID   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

const cannedCols = `id, shortcut, title, text, queue, owner_id, created_at, updated_at`

func (r cannedRow) domain() *inbox.CannedReply {
	return &inbox.CannedReply{ID: r.ID, Shortcut: r.Shortcut, Title: r.Title, Text: r.Text, Queue: r.Queue,
		OwnerID: r.OwnerID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// CannedReplies implements inbox.WorkspaceStore: the shared replies and
// ownerID's, by shortcut (bounded by inbox.MaxSharedCanned +
// inbox.MaxPersonalCanned).
func (s *Store) CannedReplies(ctx context.Context, ownerID int64) ([]inbox.CannedReply, error) {
	var rs []cannedRow
	if err := s.read(ctx).Raw(`SELECT `+cannedCols+` FROM canned_replies WHERE owner_id IN (0, ?) ORDER BY shortcut, id`,
		ownerID).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.CannedReply, len(rs))
	for i, r := range rs {
		out[i] = *r.domain()
	}
	return out, nil
}

// CannedReply implements inbox.WorkspaceStore.
func (s *Store) CannedReply(ctx context.Context, id int64) (*inbox.CannedReply, error) {
	r, err := (&tx{g: s.read(ctx), s: s, readOnly: true}).CannedReply(ctx, id)
	return r, classify(err)
}

func (t *tx) CannedReply(ctx context.Context, id int64) (*inbox.CannedReply, error) {
	var rs []cannedRow
	if err := t.g.Raw(`SELECT `+cannedCols+` FROM canned_replies WHERE id = ?`+t.forUpdate(), id).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "canned reply not found")
	}
	return rs[0].domain(), nil
}

func (t *tx) CannedInScope(ctx context.Context, scope, shortcut string) (*inbox.CannedReply, error) {
	var rs []cannedRow
	if err := t.g.Raw(`SELECT `+cannedCols+` FROM canned_replies WHERE scope = ? AND shortcut = ?`, scope, shortcut).
		Scan(&rs).Error; err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0].domain(), nil
}

func (t *tx) CountCanned(ctx context.Context, ownerID int64) (int, error) {
	var n int
	err := t.g.Raw(`SELECT COUNT(*) FROM canned_replies WHERE owner_id = ?`, ownerID).Scan(&n).Error
	return n, err
}

func (t *tx) InsertCanned(ctx context.Context, r *inbox.CannedReply) error {
	return t.g.Raw(`INSERT INTO canned_replies (scope, shortcut, title, text, queue, owner_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.Scope(), r.Shortcut, r.Title, r.Text, r.Queue, r.OwnerID,
		r.CreatedAt.UTC(), r.UpdatedAt.UTC()).Scan(&r.ID).Error
}

func (t *tx) UpdateCanned(ctx context.Context, r *inbox.CannedReply) error {
	return t.g.Exec(`UPDATE canned_replies SET scope = ?, shortcut = ?, title = ?, text = ?, queue = ?, updated_at = ?
		WHERE id = ?`, r.Scope(), r.Shortcut, r.Title, r.Text, r.Queue, r.UpdatedAt.UTC(), r.ID).Error
}

func (t *tx) DeleteCanned(ctx context.Context, id int64) error {
	return t.g.Exec(`DELETE FROM canned_replies WHERE id = ?`, id).Error
}

var (
	_ inbox.WorkspaceStore = (*Store)(nil)
	_ inbox.WorkspaceTx    = (*tx)(nil)
)

// TaggedAmong implements inbox.WorkspaceStore: the conversation_tags
// primary key is probed in chunks of 500 ids.
func (s *Store) TaggedAmong(ctx context.Context, name string, convIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	id, err := s.TagID(ctx, name)
	if err != nil || id == 0 {
		return out, err
	}
	for len(convIDs) > 0 {
		n := min(len(convIDs), 500)
		var got []int64
		if err := s.read(ctx).Raw(`SELECT conversation_id FROM conversation_tags WHERE tag_id = ? AND conversation_id IN ?`,
			id, convIDs[:n]).Scan(&got).Error; err != nil {
			return nil, classify(err)
		}
		for _, c := range got {
			out[c] = true
		}
		convIDs = convIDs[n:]
	}
	return out, nil
}

// SeedTags puts the tag name (created if missing) on every conversation
// whose id is a multiple of every, in one statement: the load tool's
// share of tagged conversations. Never for real data.
func (s *Store) SeedTags(ctx context.Context, name string, every int) (int64, error) {
	if every < 1 {
		return 0, inbox.Invalid("every", "must be at least 1")
	}
	db := s.db.WithContext(ctx)
	if err := db.Exec(`INSERT INTO tags (name, color, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, inbox.DefaultTagColor, time.Now().UTC()).Error; err != nil {
		return 0, classify(err)
	}
	id, err := s.TagID(ctx, name)
	if err != nil {
		return 0, err
	}
	r := db.Exec(`INSERT INTO conversation_tags (conversation_id, tag_id, last_activity_at)
		SELECT id, ?, last_activity_at FROM conversations WHERE id % ? = 0
		ON CONFLICT (conversation_id, tag_id) DO NOTHING`, id, every)
	if r.Error != nil {
		return 0, classify(r.Error)
	}
	if err := db.Exec(`ANALYZE conversation_tags`).Error; err != nil {
		return 0, classify(err)
	}
	return r.RowsAffected, nil
}
