package store

import (
	"context"
	"strconv"
	"strings"
	"unicode"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/journal"
)

// Journal search: q is plain words. A conversation matches when its title,
// or one of its messages, holds every word; the last word also matches as
// a prefix, so a search finds "order" while it is being typed as "ord".
// Case does not matter, in any script. Nothing in q is query syntax: quotes,
// operators and punctuation only separate words. A q without a word
// matches nothing.
//
// The words are looked up in full-text indexes (migration 0005) and the
// journal query keeps its keyset order and other filters around the
// matching conversations.

// searchWindow is how many conversations, newest first, PostgreSQL tests
// one by one before it turns to the index (see searchCondPostgres).
const searchWindow = 1000

// searchCond returns the WHERE condition (over conversations c) that keeps
// the conversations matching q.Text, with its arguments. where and args
// are the journal query's other conditions (over c) and their arguments;
// q.After and q.Limit are the page's. ok is false when nothing can match:
// the page is then empty.
func (s *Store) searchCond(ctx context.Context, q journal.Query, where []string, args []any) (cond string, cargs []any, ok bool, err error) {
	if s.dialect == Postgres {
		return s.searchCondPostgres(ctx, q, where, args)
	}
	m := ftsMatch(q.Text)
	if m == "" {
		return "", nil, false, nil
	}
	return `c.id IN (SELECT ms.conversation_id FROM messages ms WHERE ms.id IN
			(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)
		UNION SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?)`, []any{m, m}, true, nil
}

// searchCondPostgres picks between two plans itself, because the planner
// cannot: its estimate of how many rows a text query matches is a guess
// for any word outside the few hundred most common ones (and for every
// prefix), and a wrong guess either way costs seconds at ten million
// messages.
//
//   - Common words: walk the journal index (with the other filters and the
//     cursor) and test each conversation's title and messages; a page fills
//     after a few rows. The walk is bounded by searchWindow conversations.
//   - Rare words (the window did not fill the page): read the GIN indexes
//     for every matching message and title, then sort those conversations.
//     This costs what the words match, whatever the journal's size.
//
// The text query is PostgreSQL's own parse of q (plainto_tsquery: the same
// parser and configuration as the indexes, so a word means the same thing
// on both sides, "e-mail" and "foo.com" included), with the last word made
// a prefix. It goes into the SQL as a literal: a parameter of pgx's cached
// prepared statements may get a generic plan, and only a literal lets the
// GIN index be used whatever that plan. The literal is PostgreSQL's own
// tsquery text in an escape string, every quote and backslash doubled:
// nothing from q reaches the SQL unquoted.
func (s *Store) searchCondPostgres(ctx context.Context, q journal.Query, where []string, args []any) (string, []any, bool, error) {
	var tq string
	if err := s.read(ctx).Raw(`SELECT plainto_tsquery('simple', ?)::text`, q.Text).Scan(&tq).Error; err != nil {
		return "", nil, false, classify(err)
	}
	words := tsqueryLexemes(tq)
	if len(words) == 0 {
		return "", nil, false, nil
	}
	// The text ends with the last word's quoted lexeme ('a' & 'b'): mark
	// it as a prefix.
	full := tsqueryLiteral(tq + ":*")

	// The walk: the window is the journal query without the search, so it
	// takes the same index (journal, status or channel) and cursor.
	where = append([]string(nil), where...)
	args = append([]any(nil), args...)
	if q.After != nil {
		where = append(where, `(c.last_activity_at, c.id) < (?, ?)`)
		args = append(args, q.After.At, q.After.ID)
	}
	window := `SELECT c.id, c.title, c.last_activity_at FROM conversations c`
	if len(where) > 0 {
		window += " WHERE " + strings.Join(where, " AND ")
	}
	window += ` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?`
	// Each word, lower-cased, is a substring of the text it is a word of:
	// ILIKE rejects most rows for a microsecond where to_tsvector takes
	// twenty. The EXISTS must run per row, over the conversation's
	// messages: the OR keeps it from becoming a join, and IS TRUE hides the
	// match from the GIN index, else the planner may read the index once
	// for every matching message (a "hashed SubPlan"), the very cost the
	// walk is there to avoid.
	var titleLike, textLike []string
	var likeArgs []any
	for _, w := range words {
		titleLike = append(titleLike, `w.title ILIKE ? ESCAPE '\'`)
		textLike = append(textLike, `ms.text ILIKE ? ESCAPE '\'`)
		likeArgs = append(likeArgs, "%"+escapeLike(w)+"%")
	}
	walkArgs := append(append(append(args, searchWindow), likeArgs...), likeArgs...)
	var ids []int64
	if err := s.read(ctx).Raw(`SELECT w.id FROM (`+window+`) w
		WHERE (`+strings.Join(titleLike, " AND ")+` AND to_tsvector('simple', w.title) @@ `+full+`)
		OR EXISTS (SELECT 1 FROM messages ms WHERE ms.conversation_id = w.id
			AND `+strings.Join(textLike, " AND ")+` AND (to_tsvector('simple', ms.text) @@ `+full+`) IS TRUE)
		ORDER BY w.last_activity_at DESC, w.id DESC LIMIT ?`,
		append(walkArgs, q.Limit)...).Scan(&ids).Error; err != nil {
		return "", nil, false, classify(err)
	}
	final := len(ids) == q.Limit
	if !final {
		// Fewer matches than a page: the window either held every
		// conversation left (then these are all the matches) or was cut.
		var n int
		if err := s.read(ctx).Raw(`SELECT count(*) FROM (`+window+`) w`, append(args, searchWindow)...).Scan(&n).Error; err != nil {
			return "", nil, false, classify(err)
		}
		final = n < searchWindow
	}
	if final {
		if len(ids) == 0 {
			return "", nil, false, nil
		}
		return `c.id IN ?`, []any{ids}, true, nil
	}

	// The index. GIN reads a prefix by collecting every posting of every
	// word it starts, so a common last word ("4242 ord", where every
	// message holds "order") costs a scan of the whole list. Then the
	// other words, exact, select the messages in the index and the prefix
	// is only checked on those (IS TRUE hides it from the index).
	msgCond := `to_tsvector('simple', ms.text) @@ ` + full
	if len(words) > 1 {
		common, err := s.commonPrefix(ctx, words[len(words)-1])
		if err != nil {
			return "", nil, false, err
		}
		// plainto_tsquery joins every word with " &", and no lexeme
		// holds a space.
		if cut := strings.LastIndex(tq, " & "); common && cut > 0 {
			exact := tsqueryLiteral(tq[:cut])
			msgCond = `to_tsvector('simple', ms.text) @@ ` + exact + ` AND (` + msgCond + `) IS TRUE`
		}
	}
	ids, err := s.searchIDs(ctx, `SELECT ms.conversation_id FROM messages ms WHERE `+msgCond+`
		UNION SELECT ct.id FROM conversations ct WHERE to_tsvector('simple', ct.title) @@ `+full)
	if err != nil || len(ids) == 0 {
		return "", nil, false, err
	}
	// One array parameter, however many: no limit on placeholders.
	arr := make([]string, len(ids))
	for i, id := range ids {
		arr[i] = strconv.FormatInt(id, 10)
	}
	return `c.id = ANY(?::bigint[])`, []any{"{" + strings.Join(arr, ",") + "}"}, true, nil
}

// searchIDs runs the index lookup alone, with JIT compilation and parallel
// workers off for it: the planner's guess of the rows a prefix matches is
// large (a fixed fraction of the table), which makes the estimated cost
// pass the thresholds of both, and they cost more (JIT: 100 to 200 ms,
// starting workers: tens of ms) than reading a few index entries.
func (s *Store) searchIDs(ctx context.Context, query string) ([]int64, error) {
	var ids []int64
	err := s.read(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`).Error; err != nil {
			return err
		}
		return tx.Raw(query).Scan(&ids).Error
	})
	return ids, classify(err)
}

// commonPrefix reports whether the words starting with prefix are in more
// than 0.5% of the messages, by ANALYZE's statistics of the messages'
// search index (the most common words and their frequencies). Without
// statistics (a new database) no word is common.
func (s *Store) commonPrefix(ctx context.Context, prefix string) (bool, error) {
	var f float64
	err := s.read(ctx).Raw(`SELECT COALESCE(sum(e.f), 0) FROM pg_stats s,
		unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(w, f)
		WHERE s.schemaname = current_schema() AND s.tablename = 'messages_search' AND starts_with(e.w, ?)`, prefix).Scan(&f).Error
	if err != nil {
		return false, classify(err)
	}
	return f > 0.005, nil
}

// tsqueryLiteral quotes a tsquery's text as an SQL escape string.
func tsqueryLiteral(tq string) string {
	return `E'` + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(tq) + `'::tsquery`
}

// tsqueryLexemes returns the lexemes of a tsquery's text, in order: each
// is in single quotes, a quote or backslash inside written twice.
func tsqueryLexemes(tq string) []string {
	var out []string
	for i := 0; i < len(tq); i++ {
		if tq[i] != '\'' {
			continue
		}
		var b strings.Builder
		for i++; i < len(tq); i++ {
			c := tq[i]
			if c == '\'' || c == '\\' {
				if c == '\'' && (i+1 >= len(tq) || tq[i+1] != '\'') {
					break // the closing quote
				}
				i++ // a doubled quote or backslash: one of it
			}
			b.WriteByte(c)
		}
		out = append(out, b.String())
	}
	return out
}

// ftsMatch turns plain words into an FTS5 query: every word a quoted
// string (a quote inside doubled), so FTS5 operators (AND, OR, NOT, NEAR),
// column filters (":"), "^", "*", parentheses and quotes in q are only
// text; words are ANDed; the last is a prefix ("ord"*). It returns "" when
// q holds no word.
func ftsMatch(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool {
		// The characters unicode61 keeps in a token: letters, numbers
		// and combining marks; everything else separates words.
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
	if len(words) == 0 {
		return ""
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"`)
	}
	b.WriteByte('*')
	return b.String()
}
