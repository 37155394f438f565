package store

import (
	"context"
	"strings"
	"unicode"
)

// Journal search: q is plain words. A conversation matches when its title,
// or one of its messages, holds every word; the last word also matches as
// a prefix, so a search finds "order" while it is being typed as "ord".
// Case does not matter, in any script. Nothing in q is query syntax: quotes,
// operators and punctuation only separate words. A q without a word
// matches nothing.
//
// Both stores look the words up in a full-text index (migration 0005) and
// return the ids of the matching conversations; the journal query keeps
// its keyset order and other filters around that set, and the database
// picks the plan: walk the journal index and test each row when the words
// are common, or collect the few matches from the index and sort them when
// they are rare.

// searchCond returns the WHERE condition (over conversations c) that keeps
// the conversations matching q, with its arguments. ok is false when q
// holds no word to look for: the page is then empty.
func (s *Store) searchCond(ctx context.Context, q string) (cond string, args []any, ok bool, err error) {
	if s.dialect == Postgres {
		return s.searchCondPostgres(ctx, q)
	}
	m := ftsMatch(q)
	if m == "" {
		return "", nil, false, nil
	}
	return `c.id IN (SELECT ms.conversation_id FROM messages ms WHERE ms.id IN
			(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)
		UNION SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?)`, []any{m, m}, true, nil
}

// searchCondPostgres lets PostgreSQL's own parser split q into words
// (plainto_tsquery: the same parser and configuration as the indexes, so a
// word means the same thing on both sides, "e-mail" and "foo.com"
// included) and marks the last word as a prefix.
//
// The query goes into the SQL as a literal rather than a parameter: the
// planner must see it to estimate how many rows match, which decides
// between walking the journal index and reading the GIN index. With a
// parameter, pgx's cached prepared statement may switch to a generic plan
// after a few executions, estimated for no word in particular. The literal
// is PostgreSQL's own tsquery text in an escape string, every quote and
// backslash doubled: nothing from q reaches the SQL unquoted.
func (s *Store) searchCondPostgres(ctx context.Context, q string) (string, []any, bool, error) {
	var tq string
	if err := s.read(ctx).Raw(`SELECT plainto_tsquery('simple', ?)::text`, q).Scan(&tq).Error; err != nil {
		return "", nil, false, classify(err)
	}
	if tq == "" {
		return "", nil, false, nil
	}
	// The text ends with the last word's quoted lexeme ('a' & 'b'): mark
	// it as a prefix.
	lit := `E'` + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(tq+":*") + `'::tsquery`
	return `c.id IN (SELECT ms.conversation_id FROM messages ms WHERE to_tsvector('simple', ms.text) @@ ` + lit + `
		UNION ALL SELECT ct.id FROM conversations ct WHERE to_tsvector('simple', ct.title) @@ ` + lit + `)`, nil, true, nil
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
