package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// The customer's history (migration 0012): contact search, persons
// (linked contacts: contacts.person_id) and a person's conversations.

// InContactLinkTx implements inbox.ContactLinkStore: one transaction in
// which no other link change runs (SQLite's single writer; on PostgreSQL
// a transaction-level advisory lock), so persons stay flat whatever two
// admins do at once.
func (s *Store) InContactLinkTx(ctx context.Context, fn func(inbox.ContactLinkTx) error) error {
	if s.dialect == SQLite {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
	}
	err := s.db.WithContext(ctx).Transaction(func(g *gorm.DB) error {
		if s.dialect == Postgres {
			if err := g.Exec(`SELECT pg_advisory_xact_lock(?)`, lockKey("contact-links")).Error; err != nil {
				return err
			}
		}
		return fn(&tx{g: g, s: s})
	})
	return classify(err)
}

// PersonOf implements inbox.ContactLinkTx.
func (t *tx) PersonOf(ctx context.Context, id int64) (inbox.Person, error) {
	return personOf(t.g, id)
}

// personOf reads the person of contact id: its root, then the root and
// its members (contacts_person).
func personOf(g *gorm.DB, id int64) (inbox.Person, error) {
	var root []sql.NullInt64
	if err := g.Raw(`SELECT person_id FROM contacts WHERE id = ?`, id).Scan(&root).Error; err != nil {
		return inbox.Person{}, err
	}
	if len(root) == 0 {
		return inbox.Person{}, inbox.ContactNotFound()
	}
	p := inbox.Person{Root: id}
	if root[0].Valid {
		p.Root = root[0].Int64
	}
	if err := g.Raw(`SELECT id FROM contacts WHERE id = ? OR person_id = ? ORDER BY id`, p.Root, p.Root).
		Scan(&p.Members).Error; err != nil {
		return inbox.Person{}, err
	}
	return p, nil
}

// SetPerson implements inbox.ContactLinkTx.
func (t *tx) SetPerson(ctx context.Context, ids []int64, root int64) error {
	if len(ids) == 0 {
		return nil
	}
	var person any
	if root != 0 {
		person = root
	}
	return t.g.Exec(`UPDATE contacts SET person_id = ? WHERE id IN ?`, person, ids).Error
}

// ContactPerson implements journal.ContactReader.
func (s *Store) ContactPerson(ctx context.Context, id int64) (*inbox.Contact, inbox.Person, error) {
	g := s.read(ctx)
	c, err := (&tx{g: g, s: s, readOnly: true}).Contact(ctx, id)
	if err != nil {
		return nil, inbox.Person{}, classify(err)
	}
	p, err := personOf(g, id)
	if err != nil {
		return nil, inbox.Person{}, classify(err)
	}
	return c, p, nil
}

// ContactsByID implements journal.ContactReader.
func (s *Store) ContactsByID(ctx context.Context, ids []int64) ([]inbox.Contact, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rs []contactRow
	if err := s.read(ctx).Raw(`SELECT `+contactCols+` FROM contacts WHERE id IN ? ORDER BY id`, ids).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.Contact, len(rs))
	for i := range rs {
		out[i] = *rs[i].domain()
	}
	return out, nil
}

// ContactConversations implements journal.ContactReader: the newest
// conversations of a person's contacts by conversations_contact_id, then
// their participants in one query.
func (s *Store) ContactConversations(ctx context.Context, contactIDs []int64, limit int) ([]*inbox.Conversation, error) {
	if len(contactIDs) == 0 {
		return nil, nil
	}
	g := s.read(ctx)
	var rs []conversationRow
	if err := g.Raw(`SELECT `+conversationCols+` FROM conversations c WHERE c.contact_id IN ? ORDER BY c.id DESC LIMIT `+
		strconv.Itoa(limit), contactIDs).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	ids := make([]int64, len(rs))
	for i := range rs {
		ids[i] = rs[i].ID
	}
	parts, err := participants(g, ids)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]*inbox.Conversation, len(rs))
	for i := range rs {
		out[i] = rs[i].domain()
		out[i].Participants = parts[rs[i].ID]
	}
	return out, nil
}

// contactWordsSQL is the text the search index holds for contact c, as
// migration 0012 indexes it on PostgreSQL: the same expression, or the
// planner does not use the index.
const contactWordsSQL = `to_tsvector('simple', regexp_replace(c.name || ' ' || c.username || ' ' || c.email || ' ' || c.phone || ' ' || translate(c.phone, ' -().+/', '') || ' ' || c.external_id, '[[:punct:]]', ' ', 'g'))`

// contactWindow is how many contacts, newest first, a PostgreSQL search
// tests one by one before it reads the index (see SearchContacts).
const contactWindow = 1000

// minPrefix is the shortest last word that is also looked up as a prefix:
// a one-letter prefix would read every word that starts with it.
const minPrefix = 2

// SearchContacts implements journal.ContactReader. Without text: the
// newest contacts (the primary key, or contacts_channel for an agent's
// channels). With text, every word must be a word of the contact's name,
// username, email, phone or id on the channel; the last word of two
// characters or more also matches as a prefix.
//
//   - SQLite: the FTS5 table (contacts_fts) is read in rowid order,
//     newest first, from the cursor: a page costs its rows and the
//     postings of its words, whatever the number of contacts.
//   - PostgreSQL: GIN cannot return rows in id order, so the search first
//     tests the newest contactWindow contacts below the cursor (a backward
//     scan of the primary key): a common word fills its page there. Only
//     when the window does not fill the page are the matches read from the
//     GIN index (contacts_search) and sorted, which costs what the words
//     match.
func (s *Store) SearchContacts(ctx context.Context, q journal.ContactQuery) ([]journal.ContactHit, error) {
	var (
		where []string
		args  []any
	)
	if q.Channels != nil {
		if len(q.Channels) == 0 {
			return nil, nil
		}
		where = append(where, `c.channel_id IN ?`)
		args = append(args, q.Channels)
	}
	if q.Before > 0 {
		where = append(where, `c.id < ?`)
		args = append(args, q.Before)
	}
	words := splitWords(q.Text)
	if q.Text != "" && len(words) == 0 {
		return nil, nil // nothing to look for: nothing matches
	}
	limit := strconv.Itoa(q.Limit)
	var ids []int64
	switch {
	case len(words) == 0:
		sqlq := `SELECT c.id FROM contacts c`
		if len(where) > 0 {
			sqlq += ` WHERE ` + strings.Join(where, " AND ")
		}
		if err := s.read(ctx).Raw(sqlq+` ORDER BY c.id DESC LIMIT `+limit, args...).Scan(&ids).Error; err != nil {
			return nil, classify(err)
		}
	case s.dialect == SQLite:
		// FTS5 drives: its rowid order is the page's, and c is looked up
		// by primary key for the channel filter.
		where = append([]string{`contacts_fts MATCH ?`}, where...)
		args = append([]any{ftsContactQuery(words)}, args...)
		if q.Before > 0 {
			where = append(where, `contacts_fts.rowid < ?`)
			args = append(args, q.Before)
		}
		if err := s.read(ctx).Raw(`SELECT c.id FROM contacts_fts JOIN contacts c ON c.id = contacts_fts.rowid
			WHERE `+strings.Join(where, " AND ")+` ORDER BY contacts_fts.rowid DESC LIMIT `+limit, args...).
			Scan(&ids).Error; err != nil {
			return nil, classify(err)
		}
	default:
		var err error
		if ids, err = s.searchContactsPostgres(ctx, words, where, args, q.Limit); err != nil {
			return nil, err
		}
	}
	return s.contactHits(ctx, ids)
}

// ftsContactQuery is words as an FTS5 query: each word quoted (so nothing
// in it is syntax), ANDed, the last a prefix when long enough.
func ftsContactQuery(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"`)
	}
	if utf8.RuneCountInString(words[len(words)-1]) >= minPrefix {
		b.WriteByte('*')
	}
	return b.String()
}

func (s *Store) searchContactsPostgres(ctx context.Context, words []string, where []string, args []any, limit int) ([]int64, error) {
	// PostgreSQL folds and parses the words itself, as it did the index's.
	var tq string
	if err := s.read(ctx).Raw(`SELECT plainto_tsquery('simple', ?)::text`, strings.Join(words, " ")).Scan(&tq).Error; err != nil {
		return nil, classify(err)
	}
	lexemes := tsqueryLexemes(tq)
	if len(lexemes) == 0 {
		return nil, nil
	}
	if utf8.RuneCountInString(lexemes[len(lexemes)-1]) >= minPrefix {
		tq += ":*"
	}
	match := contactWordsSQL + ` @@ ` + tsqueryLiteral(tq)
	// In the walk, each word is first looked for as a substring of the
	// contact's text (a microsecond) before to_tsvector and its
	// regexp_replace (ten microseconds) run: a window of 1,000 rows costs
	// 1 ms instead of 10. A word of the index is a substring of that
	// text, lower-cased, so nothing that matches is rejected.
	var like []string
	for _, w := range lexemes {
		like = append(like, `(c.name || ' ' || c.username || ' ' || c.email || ' ' || c.phone || ' ' || translate(c.phone, ' -().+/', '') || ' ' || c.external_id) ILIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(w)+"%")
	}
	walkMatch := strings.Join(like, " AND ") + ` AND ` + match
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, " AND ")
	}
	window := `SELECT c.* FROM contacts c` + cond + ` ORDER BY c.id DESC LIMIT ` + strconv.Itoa(contactWindow)
	var ids []int64
	if err := s.read(ctx).Raw(`SELECT c.id FROM (`+window+`) c WHERE `+walkMatch+` ORDER BY c.id DESC LIMIT `+strconv.Itoa(limit),
		args...).Scan(&ids).Error; err != nil {
		return nil, classify(err)
	}
	args = args[:len(args)-len(lexemes)] // the window's and the index's
	if len(ids) == limit {
		return ids, nil
	}
	var n int
	if err := s.read(ctx).Raw(`SELECT count(*) FROM (`+window+`) c`, args...).Scan(&n).Error; err != nil {
		return nil, classify(err)
	}
	if n < contactWindow {
		return ids, nil // the window held every contact left
	}
	// The index: every match (MATERIALIZED keeps the planner from walking
	// the primary key instead), then the page's.
	where = append([]string{match}, where...)
	return s.searchIDsArgs(ctx, `WITH m AS MATERIALIZED (SELECT c.id FROM contacts c WHERE `+strings.Join(where, " AND ")+`)
		SELECT id FROM m ORDER BY id DESC LIMIT `+strconv.Itoa(limit), args)
}

// searchIDsArgs is searchIDs with arguments.
func (s *Store) searchIDsArgs(ctx context.Context, query string, args []any) ([]int64, error) {
	var ids []int64
	err := s.read(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`).Error; err != nil {
			return err
		}
		return tx.Raw(query, args...).Scan(&ids).Error
	})
	return ids, classify(err)
}

// contactHits loads the contacts of ids, in that order, with their
// persons' roots.
func (s *Store) contactHits(ctx context.Context, ids []int64) ([]journal.ContactHit, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rs []contactRow
	if err := s.read(ctx).Raw(`SELECT `+contactCols+` FROM contacts WHERE id IN ?`, ids).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	var persons []struct{ ID, PersonID int64 }
	if err := s.read(ctx).Raw(`SELECT id, person_id FROM contacts WHERE id IN ? AND person_id IS NOT NULL`, ids).
		Scan(&persons).Error; err != nil {
		return nil, classify(err)
	}
	byID := map[int64]journal.ContactHit{}
	for i := range rs {
		byID[rs[i].ID] = journal.ContactHit{Contact: *rs[i].domain(), PersonID: rs[i].ID}
	}
	for _, p := range persons {
		if h, ok := byID[p.ID]; ok {
			h.PersonID = p.PersonID
			byID[p.ID] = h
		}
	}
	out := make([]journal.ContactHit, 0, len(ids))
	for _, id := range ids {
		if h, ok := byID[id]; ok {
			out = append(out, h)
		}
	}
	return out, nil
}

var (
	_ inbox.ContactLinkStore = (*Store)(nil)
	_ journal.ContactReader  = (*Store)(nil)
)
