package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// search lists every page of the owner's journal for q (pages of limit),
// following the cursor, and returns the titles in journal order.
func (f *fixture) search(q journal.Query, limit int) []string {
	f.t.Helper()
	q.Viewer, q.Limit = f.owner, limit
	var titles []string
	for pages := 0; ; pages++ {
		p, err := f.j.List(context.Background(), q)
		if err != nil {
			f.t.Fatalf("search %q: %v", q.Text, err)
		}
		for _, it := range p.Items {
			titles = append(titles, it.Title)
		}
		if p.NextCursor == "" {
			return titles
		}
		c, err := journal.DecodeCursor(p.NextCursor)
		if err != nil {
			f.t.Fatal(err)
		}
		q.After = &c
		if pages > 100 {
			f.t.Fatalf("search %q: the cursor does not end", q.Text)
		}
	}
}

func (f *fixture) wantSearch(q journal.Query, want ...string) {
	f.t.Helper()
	if want == nil {
		want = []string{}
	}
	got := f.search(q, 50)
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		f.t.Errorf("search %q (status %q, channel %q):\n got %q\nwant %q", q.Text, q.Status, q.ChannelID, got, want)
	}
}

func text(q string) journal.Query { return journal.Query{Text: q} }

func TestSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		// Journal order is newest activity first: c6, c5, ... c1.
		order := f.ingest("crm", "m1", "c1", "Where is my order 4242?").ConversationID
		f.ingest("crm", "m2", "c2", "Tilaus ei ole saapunut, ääni katkeaa")
		f.ingest("crm", "m3", "c3", "Моє замовлення не прийшло")
		f.ingest("crm", "m4", "c4", `delivery (AND) OR NEAR* "quoted" col:umn ^start 100% it's`)
		f.ingest("sales", "m5", "c5", "The order shipped")
		f.ingest("crm", "m6", "c6", "hello")
		f.ingest("crm", "m6b", "c6", "second message: refund please")

		// A message's words, in any case, all of them, the last as a prefix.
		f.wantSearch(text("4242"), "Customer c1")
		f.wantSearch(text("ORDER 4242"), "Customer c1")
		f.wantSearch(text("order"), "Customer c5", "Customer c1")
		f.wantSearch(text("ord"), "Customer c5", "Customer c1")
		f.wantSearch(text("  where   ORD "), "Customer c1")
		// Only the last word is a prefix.
		f.wantSearch(text("ord 4242"))
		// Words, not substrings.
		f.wantSearch(text("rder"))
		f.wantSearch(text("order 4242 missing"))
		// Any message of the conversation, not only the last.
		f.wantSearch(text("hello"), "Customer c6")
		f.wantSearch(text("refund"), "Customer c6")
		// The title.
		f.wantSearch(text("customer c3"), "Customer c3")
		f.wantSearch(text("CUSTOMER"), "Customer c6", "Customer c5", "Customer c4", "Customer c3", "Customer c2", "Customer c1")
		// Finnish and Ukrainian: case folds, diacritics count.
		f.wantSearch(text("ÄÄNI"), "Customer c2")
		f.wantSearch(text("tilaus ään"), "Customer c2")
		f.wantSearch(text("aani"))
		f.wantSearch(text("ЗАМОВЛЕННЯ"), "Customer c3")
		f.wantSearch(text("моє замов"), "Customer c3")
		// Query syntax of either store is only text.
		f.wantSearch(text(`"quoted" col:umn`), "Customer c4")
		f.wantSearch(text("(AND) OR"), "Customer c4")
		f.wantSearch(text("NEAR*"), "Customer c4")
		f.wantSearch(text("^start"), "Customer c4")
		for _, q := range []string{`"`, `""`, `'`, `\`, `%`, `_`, `*`, `:`, `^`, `(`, `)`, `-`, `!`, `&`, `|`, `:*`,
			`&|!<->`, `a:b`, `NOT`, `OR`, `AND "`, `NEAR(a b, 2)`, `title:x`, `{title}: x`, `"unclosed`, `order*`,
			`'; DROP TABLE messages; --`, `a & !b | c`, `<2>`, `100%`, `it's`, `\'`, "tab\there", "☃", "🙂 order"} {
			if _, err := f.j.List(ctx, journal.Query{Viewer: f.owner, Text: q}); err != nil {
				t.Errorf("search %q: %v", q, err)
			}
		}
		f.wantSearch(text("order*"), "Customer c5", "Customer c1")
		f.wantSearch(text("100%"), "Customer c4")
		// No word at all: nothing, and no error.
		f.wantSearch(text("%%"))
		f.wantSearch(text("* : ^"))

		// With the other filters.
		f.tick()
		if _, err := f.svc.Reply(ctx, f.anna, order, "Your order is on its way"); err != nil {
			t.Fatal(err)
		}
		f.wantSearch(text("order"), "Customer c1", "Customer c5")
		f.wantSearch(journal.Query{Text: "order", Status: inbox.StatusActive}, "Customer c1")
		f.wantSearch(journal.Query{Text: "order", Status: inbox.StatusUnassigned}, "Customer c5")
		f.wantSearch(journal.Query{Text: "order", ChannelID: "sales"}, "Customer c5")
		f.wantSearch(journal.Query{Text: "order", ChannelID: "site"})
		f.wantSearch(journal.Query{Text: "order", AgentID: f.anna.ID}, "Customer c1")
		p, err := f.j.List(ctx, journal.Query{Viewer: f.anna, Scope: journal.ScopeMine, Text: "ord"})
		if err != nil || len(p.Items) != 1 || p.Items[0].ID != order {
			t.Errorf("mine with search: %+v %v", p.Items, err)
		}
		p, err = f.j.List(ctx, journal.Query{Viewer: f.bob, Scope: journal.ScopeQueue, Text: "tilaus"})
		if err != nil || len(p.Items) != 1 || p.Items[0].Title != "Customer c2" {
			t.Errorf("queue with search: %+v %v", p.Items, err)
		}
		// The agent's reply is searchable too.
		f.wantSearch(text("its way"), "Customer c1")

		// An edit replaces the words.
		f.tick()
		if _, err := f.svc.Ingest(ctx, inbox.Inbound{Kind: inbox.InboundEdit, ChannelID: "crm", ExternalID: "m1",
			Contact: inbox.ContactInfo{ExternalID: "c1"}, Text: "parcel 777 arrived"}); err != nil {
			t.Fatal(err)
		}
		f.wantSearch(text("4242"))
		f.wantSearch(text("parcel 777"), "Customer c1")

		// A new title replaces the title's words.
		if err := f.st.DB().Exec(`UPDATE conversations SET title = 'Kateryna Шевченко' WHERE id = ?`, order).Error; err != nil {
			t.Fatal(err)
		}
		f.wantSearch(text("шевченко"), "Kateryna Шевченко")
		f.wantSearch(text("customer c1"))

		// A deleted conversation is gone from the index with its messages.
		if err := f.st.DB().Exec(`DELETE FROM conversations WHERE id = ?`, order).Error; err != nil {
			t.Fatal(err)
		}
		f.wantSearch(text("parcel"))
		f.wantSearch(text("kateryna"))
		f.wantSearch(text("order"), "Customer c5")
		if f.st.Dialect() == store.SQLite {
			ftsIntact(t, f.st)
		}
	})
}

// ftsIntact runs FTS5's integrity check against the content tables: it
// fails when a trigger left the index out of step with the text.
func ftsIntact(t *testing.T, st *store.Store) {
	t.Helper()
	for _, tbl := range []string{"messages_fts", "conversations_fts"} {
		if err := st.DB().Exec(`INSERT INTO ` + tbl + `(` + tbl + `, rank) VALUES ('integrity-check', 1)`).Error; err != nil {
			t.Errorf("%s: %v", tbl, err)
		}
	}
}

// TestSearchCursor pages through many matches: keyset order, no row twice,
// none missed, whatever the page size, with few conversations (PostgreSQL
// tests each one) and behind more newer ones than it tests one by one (it
// reads the index), and for a word in every conversation.
func TestSearchCursor(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		var want []string
		for i := range 23 {
			body := "unrelated words"
			if i%3 != 1 {
				body = fmt.Sprintf("parcel number %d delivered", i)
				want = append(want, fmt.Sprintf("Customer c%02d", i))
			}
			f.ingest([]string{"crm", "sales"}[i%2], fmt.Sprint("m", i), fmt.Sprintf("c%02d", i), body)
		}
		slices.Reverse(want)
		var sales []string
		for _, w := range want {
			var n int
			fmt.Sscanf(w, "Customer c%d", &n)
			if n%2 == 1 {
				sales = append(sales, w)
			}
		}
		check := func(stage string) {
			t.Helper()
			for _, limit := range []int{1, 3, 7, 50} {
				if got := f.search(text("parcel"), limit); !slices.Equal(got, want) {
					t.Errorf("%s, limit %d:\n got %q\nwant %q", stage, limit, got, want)
				}
			}
			f.wantSearch(text("nowhere"))
			// A rare word, then a prefix of a word in nearly every message
			// once seeded.
			if got := f.search(text("parcel deliv"), 4); !slices.Equal(got, want) {
				t.Errorf("%s, parcel deliv:\n got %q\nwant %q", stage, got, want)
			}
			if got := f.search(journal.Query{Text: "parcel", ChannelID: "sales"}, 2); !slices.Equal(got, sales) {
				t.Errorf("%s, channel sales:\n got %q\nwant %q", stage, got, sales)
			}
		}
		check("few conversations")
		// 1,100 newer conversations, none with the word.
		if err := f.st.Seed(context.Background(), store.SeedOptions{Conversations: 1100, Channels: channels[:1],
			Start: f.now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("behind 1,100 newer")
		// With statistics: PostgreSQL knows "delivery" is common.
		if err := f.st.DB().Exec(`ANALYZE`).Error; err != nil {
			t.Fatal(err)
		}
		check("analyzed")
		// A word in every seeded conversation: the newest first.
		p, err := f.j.List(context.Background(), journal.Query{Viewer: f.owner, Text: "delivery", Limit: 50})
		if err != nil || len(p.Items) != 50 || p.NextCursor == "" {
			t.Fatalf("delivery: %d items, %v", len(p.Items), err)
		}
		for i, it := range p.Items {
			if i > 0 && !it.LastActivityAt.Before(p.Items[i-1].LastActivityAt) {
				t.Fatalf("delivery: item %d is not older than the one before", i)
			}
		}
		if newest := fmt.Sprintf("Customer %d", 23+1100); p.Items[0].Title != newest {
			t.Errorf("delivery: first %q, want %q", p.Items[0].Title, newest)
		}
	})
}

// TestSearchMigrationBackfill: rows written before migration 0004 are
// found after it, on both stores. The store is taken back to version 4 by
// dropping what 0004 made, rows are added, and 0004 runs again.
func TestSearchMigrationBackfill(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			undoParticipantActivity(t, st, d) // 0005 comes after
			undo := []string{`DROP INDEX messages_search`, `DROP INDEX conversations_search`}
			if d == store.SQLite {
				undo = []string{`DROP TABLE messages_fts`, `DROP TABLE conversations_fts`}
				for _, tr := range []string{"insert", "update", "delete"} {
					undo = append(undo, `DROP TRIGGER messages_fts_`+tr, `DROP TRIGGER conversations_fts_`+tr)
				}
			}
			undo = append(undo, `DELETE FROM schema_migrations WHERE version = 4`)
			for _, u := range undo {
				if err := st.DB().Exec(u).Error; err != nil {
					t.Fatalf("%s: %v", u, err)
				}
			}
			if err := st.Seed(ctx, store.SeedOptions{Conversations: 30, MessagesPer: 2, Channels: channels}); err != nil {
				t.Fatal(err)
			}
			if v, err := st.Migrate(ctx); err != nil || !slices.Contains(v, 4) {
				t.Fatalf("migrate: applied %v, %v", v, err)
			}
			if d == store.SQLite {
				ftsIntact(t, st)
			}
			j := journal.New(st, channels)
			owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
			for q, want := range map[string]int{"order 17": 1, "customer 5": 1, "delivery": 30, "nothing": 0} {
				p, err := j.List(ctx, journal.Query{Viewer: owner, Text: q, Limit: 50})
				if err != nil || len(p.Items) != want {
					t.Errorf("search %q: %d items, %v; want %d", q, len(p.Items), err, want)
				}
			}
		})
	}
}

// TestSQLiteHasFTS5: the pure-Go SQLite driver is built with FTS5.
func TestSQLiteHasFTS5(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	var version string
	var fts5 int
	if err := st.DB().Raw(`SELECT sqlite_version(), sqlite_compileoption_used('ENABLE_FTS5')`).Row().Scan(&version, &fts5); err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite %s", version)
	if fts5 != 1 {
		t.Fatalf("SQLite %s is built without FTS5", version)
	}
}

// FuzzSearchQuery: no q, however odd, makes the search fail.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"order", `"`, "NEAR(a b)", "a:b", "^x", "x*", "(", "'", `\`, "ääni", "замов", "e-mail foo.com/x 3.14"} {
		f.Add(s)
	}
	st := storetest.Open(f, store.SQLite)
	svc := inbox.NewService(inbox.Options{Store: st, Channels: channels})
	if _, err := svc.Ingest(context.Background(), inbox.Inbound{ChannelID: "crm", ExternalID: "x",
		Contact: inbox.ContactInfo{ExternalID: "c", Name: "Customer"}, Text: "order ääni замовлення e-mail"}); err != nil {
		f.Fatal(err)
	}
	j := journal.New(st, channels)
	owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
	f.Fuzz(func(t *testing.T, q string) {
		_, err := j.List(context.Background(), journal.Query{Viewer: owner, Text: q})
		// Only an over-long or invalid UTF-8 q may be refused, as invalid.
		trimmed := strings.TrimSpace(q)
		if err != nil && (inbox.ErrorCode(err) != inbox.EInvalid || len(trimmed) <= journal.MaxQueryLen && utf8.ValidString(trimmed)) {
			t.Fatalf("search %q: %v", q, err)
		}
	})
}

// FuzzWordsAgreeWithFTS5: the walk's row test on SQLite (inboxd_words)
// finds exactly what the FTS5 index finds, so a search gives the same
// answer whichever plan it takes.
func FuzzWordsAgreeWithFTS5(f *testing.F) {
	for _, s := range [][2]string{{"Where is my order 4242?", "ord"}, {"Tilaus, ÄÄNI katkeaa", "ääni tilaus"},
		{"Моє замовлення", "ЗАМОВ"}, {"e-mail foo.com/bar 3.14", "mail 3"}, {"naïve café", "cafe"},
		{"ǅemal İstanbul ß", "ǆemal i̇stanbul ss"}, {"a\u0301b c", "a\u0301b"}, {"x_y z", "x_y"},
		{"ab\ue000cd", "cd"}, {"ab\ue000cd", "ab\ue000cd"}, {"a\u0301b", "b"}} {
		f.Add(s[0], s[1])
	}
	st := storetest.Open(f, store.SQLite)
	db := st.DB()
	if err := db.Exec(`CREATE VIRTUAL TABLE fz USING fts5(x, tokenize='unicode61 remove_diacritics 0')`).Error; err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, q string) {
		if !utf8.ValidString(text) || !utf8.ValidString(q) || strings.ContainsRune(text+q, 0) {
			t.Skip("SQLite text is UTF-8 without NUL")
		}
		words := strings.FieldsFunc(q, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r) && !unicode.Is(unicode.Co, r)
		})
		if len(words) == 0 {
			t.Skip("no word")
		}
		var m []string
		for _, w := range words {
			m = append(m, `"`+w+`"`)
		}
		var fts, ours int
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`DELETE FROM fz`).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO fz(x) VALUES (?)`, text).Error; err != nil {
				return err
			}
			if err := tx.Raw(`SELECT count(*) FROM fz WHERE fz MATCH ?`, strings.Join(m, " ")+"*").Scan(&fts).Error; err != nil {
				return err
			}
			return tx.Raw(`SELECT inboxd_words(?, ?)`, text, strings.Map(unicode.ToLower, strings.Join(words, " "))).Scan(&ours).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		if fts != ours {
			t.Fatalf("text %q, q %q: FTS5 %d, inboxd_words %d", text, q, fts, ours)
		}
	})
}
