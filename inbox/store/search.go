package store

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/glebarez/go-sqlite"
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
// The words are looked up in full-text indexes (migration 0004) and the
// journal query keeps its keyset order and other filters around the
// matching conversations.

// searchWindow is how many conversations, newest first, a search tests
// one by one before it turns to the index (see searchCond).
const searchWindow = 1000

// searchCond returns the WHERE condition (over conversations c) that keeps
// the conversations matching q.Text, with its arguments. where and args
// are the journal query's other conditions (over c) and their arguments;
// q.After and q.Limit are the page's. ok is false when nothing can match:
// the page is then empty.
//
// It picks between two plans itself, because neither planner can: their
// estimate of how many rows a text query matches is a guess for any word
// outside the few hundred most common ones (and for every prefix), and a
// wrong guess either way costs seconds at a million messages.
//
//   - Common words: walk the journal index (with the other filters and the
//     cursor) and test each conversation's title and messages; a page fills
//     after a few rows. The walk is bounded by searchWindow conversations.
//   - Rare words (the window did not fill the page): read the full-text
//     index for every matching message and title, then sort those
//     conversations. This costs what the words match, whatever the
//     journal's size.
func (s *Store) searchCond(ctx context.Context, q journal.Query, where []string, args []any) (cond string, cargs []any, ok bool, err error) {
	var m searchMatch
	if s.dialect == Postgres {
		m, err = s.postgresMatch(ctx, q.Text)
	} else {
		m = sqliteMatch(q.Text)
	}
	if err != nil || m.words == nil {
		return "", nil, false, err
	}

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
	walkArgs := append(append(append(args, searchWindow), m.titleArgs...), m.textArgs...)
	var ids []int64
	if err := s.read(ctx).Raw(`SELECT w.id FROM (`+window+`) w
		WHERE `+m.title+` OR EXISTS (SELECT 1 FROM messages ms WHERE ms.conversation_id = w.id AND `+m.text+`)
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
	return m.index(ctx)
}

// searchMatch is a search in one store's terms.
type searchMatch struct {
	// words are q's words; nil when q holds none.
	words []string
	// title and text test one conversation's title (w.title) and one
	// message's text (ms.text) in the walk, with their arguments.
	title, text         string
	titleArgs, textArgs []any
	// index returns the condition of the index plan.
	index func(ctx context.Context) (cond string, args []any, ok bool, err error)
}

// sqliteMatch: FTS5 tables over texts and titles. In the walk, a Go
// function tests a row (FTS5 cannot test one row cheaply: given a rowid it
// still reads a prefix's every posting).
func sqliteMatch(q string) searchMatch {
	words := splitWords(q)
	if len(words) == 0 {
		return searchMatch{}
	}
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		// Each word a quoted string (a quote inside doubled), so FTS5
		// operators (AND, OR, NOT, NEAR), column filters (":"), "^",
		// "*", parentheses and quotes in q are only text; words are
		// ANDed; the last is a prefix ("ord"*).
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"`)
	}
	b.WriteByte('*')
	fts := b.String()
	for i, w := range words {
		words[i] = foldWord(w)
	}
	packed := strings.Join(words, " ") // no word holds a space
	return searchMatch{
		words: words,
		title: `inboxd_words(w.title, ?)`, titleArgs: []any{packed},
		text: `inboxd_words(ms.text, ?)`, textArgs: []any{packed},
		index: func(context.Context) (string, []any, bool, error) {
			return `c.id IN (SELECT ms.conversation_id FROM messages ms WHERE ms.id IN
					(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)
				UNION SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?)`, []any{fts, fts}, true, nil
		},
	}
}

// registerWords registers inboxd_words(text, words) with the SQLite
// driver, once, before the first SQLite database opens: 1 when text holds
// every word (words are folded and joined by spaces; the last is a
// prefix), by the FTS5 tables' rules. For the search walk on SQLite.
var registerWords = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction("inboxd_words", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		text, _ := args[0].(string)
		words, _ := args[1].(string)
		return hasWords(text, strings.Fields(words)), nil
	})
})

// splitWords splits q as FTS5's unicode61 tokenizer splits text: a word is
// letters, numbers, combining marks and private-use characters (its
// default categories); everything else separates.
func splitWords(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool { return !isWordRune(r) })
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Co, r)
}

// foldWord folds case as unicode61 does (diacritics kept).
func foldWord(w string) string { return strings.Map(unicode.ToLower, w) }

// hasWords reports whether text holds every one of words (folded), the
// last as a prefix of a word.
func hasWords(text string, words []string) bool {
	found := make([]bool, len(words))
	left := len(words)
	for _, t := range splitWords(text) {
		t = foldWord(t)
		for i, w := range words {
			if found[i] {
				continue
			}
			if t == w || i == len(words)-1 && strings.HasPrefix(t, w) {
				found[i] = true
				if left--; left == 0 {
					return true
				}
			}
		}
	}
	return false
}

// postgresMatch: GIN indexes over to_tsvector('simple', ...) of texts and
// titles; the walk computes the same to_tsvector per row.
//
// The text query is PostgreSQL's own parse of q (plainto_tsquery: the same
// parser and configuration as the indexes, so a word means the same thing
// on both sides, "e-mail" and "foo.com" included), with the last word made
// a prefix. It goes into the SQL as a literal: a parameter of pgx's cached
// prepared statements may get a generic plan, and only a literal lets the
// GIN index be used whatever that plan. The literal is PostgreSQL's own
// tsquery text in an escape string, every quote and backslash doubled:
// nothing from q reaches the SQL unquoted.
func (s *Store) postgresMatch(ctx context.Context, q string) (searchMatch, error) {
	var tq string
	if err := s.read(ctx).Raw(`SELECT plainto_tsquery('simple', ?)::text`, q).Scan(&tq).Error; err != nil {
		return searchMatch{}, classify(err)
	}
	words := tsqueryLexemes(tq)
	if len(words) == 0 {
		return searchMatch{}, nil
	}
	// The text ends with the last word's quoted lexeme ('a' & 'b'): mark
	// it as a prefix.
	full := tsqueryLiteral(tq + ":*")
	m := searchMatch{words: words}
	// Each word, lower-cased, is a substring of the text it is a word of:
	// ILIKE rejects most rows for a microsecond where to_tsvector takes
	// twenty. The EXISTS over messages must run per row: IS TRUE hides the
	// match from the GIN index, else the planner may read the index once
	// for every matching message (a "hashed SubPlan"), the very cost the
	// walk is there to avoid.
	var titleLike, textLike []string
	for _, w := range words {
		titleLike = append(titleLike, `w.title ILIKE ? ESCAPE '\'`)
		textLike = append(textLike, `ms.text ILIKE ? ESCAPE '\'`)
		m.titleArgs = append(m.titleArgs, "%"+escapeLike(w)+"%")
	}
	m.textArgs = m.titleArgs
	m.title = `(` + strings.Join(titleLike, " AND ") + ` AND to_tsvector('simple', w.title) @@ ` + full + `)`
	m.text = strings.Join(textLike, " AND ") + ` AND (to_tsvector('simple', ms.text) @@ ` + full + `) IS TRUE`
	m.index = func(ctx context.Context) (string, []any, bool, error) {
		// GIN reads a prefix by collecting every posting of every word it
		// starts, so a common last word ("4242 ord", where every message
		// holds "order") costs a scan of the whole list. Then the other
		// words, exact, select the messages in the index and the prefix
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
	return m, nil
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
