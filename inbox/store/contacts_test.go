package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// person ingests a message from a contact with details and returns the
// contact's id and the conversation's.
func (f *fixture) person(ch, ext string, ci inbox.ContactInfo, text string) (contactID, convID int64) {
	f.t.Helper()
	f.tick()
	r, err := f.svc.Ingest(context.Background(), inbox.Inbound{ChannelID: ch, ExternalID: ext, Contact: ci, Text: text})
	if err != nil {
		f.t.Fatalf("ingest %s: %v", ext, err)
	}
	return f.conv(r.ConversationID).Contact.ID, r.ConversationID
}

// contactNames runs a search as viewer, following every page of limit,
// and returns the names found in order.
func contactNames(t *testing.T, cs *journal.Contacts, viewer *inbox.User, q string, limit int) []string {
	t.Helper()
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := cs.Search(context.Background(), viewer, q, cursor, limit)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		for _, it := range p.Items {
			names = append(names, it.Name)
		}
		if p.NextCursor == "" {
			return names
		}
		cursor = p.NextCursor
		if pages > 100 {
			t.Fatalf("search %q: the cursor does not end", q)
		}
	}
}

func TestContactSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		cs := journal.NewContacts(f.st, channels)
		f.person("crm", "m1", inbox.ContactInfo{ExternalID: "crm-501", Name: "Alice Martin", Email: "alice.martin@example.com"}, "hi")
		f.person("crm", "m2", inbox.ContactInfo{ExternalID: "crm-502", Name: "Bob Stone", Phone: "+358 40 123 4567"}, "hi")
		f.person("sales", "m3", inbox.ContactInfo{ExternalID: "tg-777", Name: "Alice Kärki", Username: "akarki"}, "hi")
		f.person("site", "m4", inbox.ContactInfo{ExternalID: "v-1", Name: "Ölli O'Brien"}, "hi")

		want := func(viewer *inbox.User, q string, names ...string) {
			t.Helper()
			got := contactNames(t, cs, viewer, q, 50)
			if !slices.Equal(got, names) && !(len(got) == 0 && len(names) == 0) {
				t.Errorf("search %q as %s: got %q, want %q", q, viewer.Name, got, names)
			}
		}
		// Newest first; every field; the last word as a prefix; any case.
		want(f.owner, "", "Ölli O'Brien", "Alice Kärki", "Bob Stone", "Alice Martin")
		want(f.owner, "alice", "Alice Kärki", "Alice Martin")
		want(f.owner, "ALI", "Alice Kärki", "Alice Martin")
		want(f.owner, "alice mar", "Alice Martin")
		want(f.owner, "alice.martin@example.com", "Alice Martin")
		want(f.owner, "example", "Alice Martin")
		want(f.owner, "+358 40 123 4567", "Bob Stone")
		want(f.owner, "358401234567", "Bob Stone")
		want(f.owner, "tg-777", "Alice Kärki")
		want(f.owner, "akarki", "Alice Kärki")
		want(f.owner, "kärki", "Alice Kärki")
		want(f.owner, "ölli", "Ölli O'Brien")
		want(f.owner, "o'brien", "Ölli O'Brien")
		// Words are not substrings; a one-letter last word is a word, not a prefix.
		want(f.owner, "lice")
		want(f.owner, "a")
		// Nothing but punctuation, or query syntax, is no word: no match.
		want(f.owner, `"*" OR :`)
		want(f.owner, `alice OR bob`)
		// An agent finds the contacts of its queues' channels only.
		want(f.anna, "alice", "Alice Martin")
		want(f.anna, "", "Ölli O'Brien", "Bob Stone", "Alice Martin")

		// Pages of one follow the cursor to the end, in order.
		if got := contactNames(t, cs, f.owner, "", 1); !slices.Equal(got, []string{"Ölli O'Brien", "Alice Kärki", "Bob Stone", "Alice Martin"}) {
			t.Errorf("pages of one: %q", got)
		}
		if got := contactNames(t, cs, f.owner, "alice", 1); !slices.Equal(got, []string{"Alice Kärki", "Alice Martin"}) {
			t.Errorf("search pages of one: %q", got)
		}

		// A contact's new details are found, its old ones no longer.
		f.person("crm", "m5", inbox.ContactInfo{ExternalID: "crm-502", Name: "Robert Stone", Phone: "+358 40 123 4567"}, "again")
		want(f.owner, "robert", "Robert Stone")
		want(f.owner, "bob")

		// Bad input.
		ctx := context.Background()
		for _, c := range []struct {
			q, cursor string
			limit     int
			field     string
		}{
			{q: string(make([]byte, 201)), field: "q"},
			{q: "a b c d e f g h i", field: "q"},
			{q: "\xff", field: "q"},
			{cursor: "x", field: "cursor"},
			{cursor: "-3", field: "cursor"},
			{limit: 201, field: "limit"},
		} {
			_, err := cs.Search(ctx, f.owner, c.q, c.cursor, c.limit)
			var e *inbox.Error
			if inbox.ErrorCode(err) != inbox.EInvalid || !errors.As(err, &e) || e.Field != c.field {
				t.Errorf("search %q cursor %q limit %d: %v, want invalid %s", c.q, c.cursor, c.limit, err, c.field)
			}
		}
	})
}

// TestContactSearchPaging pages through more contacts than the PostgreSQL
// walk's window, for a word that is in every contact and one in a few.
func TestContactSearchPaging(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		cs := journal.NewContacts(f.st, channels)
		ctx := context.Background()
		var want []string
		for i := 0; i < 1100; i++ {
			name := fmt.Sprintf("Common %04d", i)
			if i%300 == 7 {
				name += " Rare"
			}
			if err := f.st.InTx(ctx, func(tx inbox.Tx) error {
				_, err := tx.UpsertContacts(ctx, []inbox.ContactUpsert{{ChannelID: "crm", Info: inbox.ContactInfo{ExternalID: fmt.Sprint("p", i), Name: name}}}, f.now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if i%300 == 7 {
				want = append([]string{name}, want...)
			}
		}
		if got := contactNames(t, cs, f.owner, "rare", 2); !slices.Equal(got, want) {
			t.Errorf("rare: got %q, want %q", got, want)
		}
		if got := contactNames(t, cs, f.owner, "common", 200); len(got) != 1100 || got[0] != "Common 1099 Rare" && got[0] != "Common 1099" {
			t.Errorf("common: %d names, first %q", len(got), got[0])
		}
	})
}

func TestContactLinks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		cs := journal.NewContacts(f.st, channels)
		links := inbox.NewContactLinks(f.st, inbox.ClockFunc(func() time.Time { return f.now }), f, channels, nil)
		a, convA := f.person("crm", "m1", inbox.ContactInfo{ExternalID: "a", Name: "Ann on CRM"}, "crm question")
		b, convB := f.person("sales", "m2", inbox.ContactInfo{ExternalID: "b", Name: "Ann on Sales"}, "sales question")
		c, convC := f.person("site", "m3", inbox.ContactInfo{ExternalID: "c", Name: "Ann on the site"}, "site question")
		f.person("crm", "m4", inbox.ContactInfo{ExternalID: "d", Name: "Dan"}, "other")

		convIDs := func(viewer *inbox.User, id int64) []int64 {
			t.Helper()
			det, err := cs.Detail(ctx, viewer, id)
			if err != nil {
				t.Fatalf("detail %d as %s: %v", id, viewer.Name, err)
			}
			var out []int64
			for _, cv := range det.Conversations {
				out = append(out, cv.ID)
			}
			return out
		}
		if got := convIDs(f.owner, a); !slices.Equal(got, []int64{convA}) {
			t.Fatalf("before linking: %v", got)
		}

		// Agents may not link; unknown ids are not found.
		if _, err := links.Link(ctx, f.anna, a, b); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Errorf("agent links: %v", err)
		}
		if _, err := links.Link(ctx, f.owner, a, 99999); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Errorf("into unknown: %v", err)
		}
		if _, err := links.Link(ctx, f.owner, 99999, a); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Errorf("unknown into: %v", err)
		}
		if _, err := links.Link(ctx, f.owner, a, a); inbox.ErrorCode(err) != inbox.EConflict {
			t.Errorf("into itself: %v", err)
		}
		if _, err := links.Unlink(ctx, f.owner, a); inbox.ErrorCode(err) != inbox.EConflict {
			t.Errorf("unlink alone: %v", err)
		}

		f.events = nil
		r, err := links.Link(ctx, f.owner, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if r.PersonID != b || !slices.Equal(r.Linked, []int64{b}) {
			t.Errorf("link: %+v", r)
		}
		// Both show both conversations, newest first; each keeps its contact.
		for _, id := range []int64{a, b} {
			if got := convIDs(f.owner, id); !slices.Equal(got, []int64{convB, convA}) {
				t.Errorf("contact %d after linking: %v", id, got)
			}
		}
		if _, err := links.Link(ctx, f.owner, b, a); inbox.ErrorCode(err) != inbox.EConflict {
			t.Errorf("already linked: %v", err)
		}
		// The activity entries (one per queue) and the event, admins only.
		if len(f.events) != 1 || f.events[0].Kind != inbox.EventContactLinked || f.events[0].ID == 0 {
			t.Fatalf("events: %+v", f.events)
		}
		if f.events[0].Visible(f.anna) || !f.events[0].Visible(f.owner) {
			t.Error("a link event is for owners and admins")
		}
		for _, c := range []struct{ q, name, hidden string }{
			{"support", "contact_name", "other_name"}, {"sales", "other_name", "contact_name"},
		} {
			acts, err := f.st.Activities(ctx, c.q, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(acts) == 0 || acts[0].Kind != inbox.ActivityContactLinked || acts[0].ActorID != f.owner.ID ||
				acts[0].Data["contact_id"] != fmt.Sprint(a) || acts[0].Data["other_id"] != fmt.Sprint(b) {
				t.Fatalf("activity of %s: %+v", c.q, acts)
			}
			// Each queue's log names its own contact, not the other queue's.
			if _, ok := acts[0].Data[c.name]; !ok || acts[0].Data[c.hidden] != "" {
				t.Errorf("activity of %s names %+v", c.q, acts[0].Data)
			}
		}

		// The agent of support sees a's CRM conversation, not the sales
		// one, nor the sales contact.
		if got := convIDs(f.anna, a); !slices.Equal(got, []int64{convA}) {
			t.Errorf("anna's view of a: %v", got)
		}
		det, _ := cs.Detail(ctx, f.anna, a)
		if len(det.Linked) != 0 {
			t.Errorf("anna sees a linked contact of another queue: %+v", det.Linked)
		}
		if _, err := cs.Detail(ctx, f.anna, b); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Errorf("anna reads a sales contact: %v", err)
		}

		// Linking c into a links the persons: one of three, root b.
		if r, err = links.Link(ctx, f.owner, c, a); err != nil {
			t.Fatal(err)
		}
		if r.PersonID != b || !slices.Equal(r.Linked, []int64{a, b}) {
			t.Errorf("third: %+v", r)
		}
		det, _ = cs.Detail(ctx, f.owner, c)
		if len(det.Linked) != 2 || det.PersonID != b || !slices.Equal(convIDs(f.owner, c), []int64{convC, convB, convA}) {
			t.Errorf("c's person: %+v", det)
		}
		// Searching shows the person.
		p, _ := cs.Search(ctx, f.owner, "ann", "", 10)
		for _, it := range p.Items {
			if it.PersonID != b {
				t.Errorf("search: %s person %d, want %d", it.Name, it.PersonID, b)
			}
		}

		// The root leaves: a and c stay one person, under a.
		if r, err = links.Unlink(ctx, f.owner, b); err != nil {
			t.Fatal(err)
		}
		if r.PersonID != b || len(r.Linked) != 0 {
			t.Errorf("unlink root: %+v", r)
		}
		if got := convIDs(f.owner, b); !slices.Equal(got, []int64{convB}) {
			t.Errorf("b alone: %v", got)
		}
		if got := convIDs(f.owner, c); !slices.Equal(got, []int64{convC, convA}) {
			t.Errorf("a and c: %v", got)
		}
		det, _ = cs.Detail(ctx, f.owner, c)
		if det.PersonID != a {
			t.Errorf("new root: %d, want %d", det.PersonID, a)
		}
		// A member leaves: both alone.
		if _, err := links.Unlink(ctx, f.owner, c); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{a, c} {
			det, _ := cs.Detail(ctx, f.owner, id)
			if det.PersonID != id || len(det.Linked) != 0 {
				t.Errorf("after unlinking, %d: %+v", id, det)
			}
		}
		if acts, _ := f.st.Activities(ctx, "support", 0, 1); len(acts) == 0 || acts[0].Kind != inbox.ActivityContactUnlinked {
			t.Errorf("unlink activity: %+v", acts)
		}
	})
}

// TestContactLinksLimit: a person holds at most inbox.MaxPersonContacts.
func TestContactLinksLimit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		links := inbox.NewContactLinks(f.st, nil, f, channels, nil)
		var ids []int64
		for i := 0; i <= inbox.MaxPersonContacts; i++ {
			id, _ := f.person("crm", fmt.Sprint("m", i), inbox.ContactInfo{ExternalID: fmt.Sprint("x", i), Name: "X"}, "hi")
			ids = append(ids, id)
		}
		for _, id := range ids[1:inbox.MaxPersonContacts] {
			if _, err := links.Link(ctx, f.owner, id, ids[0]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := links.Link(ctx, f.owner, ids[inbox.MaxPersonContacts], ids[0]); inbox.ErrorCode(err) != inbox.EConflict {
			t.Errorf("one too many: %v", err)
		}
	})
}

// undoContacts takes migration 0012 back, for the tests of the migrations
// before it (which undo the newer ones first) and of its own backfill.
func undoContacts(t *testing.T, st *store.Store) {
	t.Helper()
	undo := []string{`DROP INDEX contacts_search`}
	if st.Dialect() == store.SQLite {
		undo = []string{`DROP TRIGGER contacts_fts_insert`, `DROP TRIGGER contacts_fts_update`, `DROP TRIGGER contacts_fts_delete`,
			`DROP TABLE contacts_fts`}
	}
	undo = append(undo, `DROP INDEX conversations_contact_id`, `DROP INDEX contacts_channel`, `DROP INDEX contacts_person`,
		`ALTER TABLE contacts DROP COLUMN person_id`)
	for _, u := range undo {
		if err := st.DB().Exec(u).Error; err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
}

// TestContactsMigrationBackfill: migration 0012 indexes the contacts
// stored before it, and they link.
func TestContactsMigrationBackfill(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			undoAfter(t, st, 11)
			if err := st.InTx(ctx, func(tx inbox.Tx) error {
				for i, name := range []string{"Early Bird", "Second Early", "Late Comer"} {
					if _, err := tx.UpsertContacts(ctx, []inbox.ContactUpsert{{ChannelID: "crm", Info: inbox.ContactInfo{ExternalID: fmt.Sprint("e", i), Name: name,
						Phone: "+1 (555) 010-99" + fmt.Sprint(i)}}}, time.Now()); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if v, err := st.Migrate(ctx); err != nil || !slices.Contains(v, 12) {
				t.Fatalf("migrate: applied %v, %v", v, err)
			}
			cs := journal.NewContacts(st, channels)
			owner := &inbox.User{ID: 1, Role: inbox.RoleOwner}
			if got := contactNames(t, cs, owner, "early", 1); !slices.Equal(got, []string{"Second Early", "Early Bird"}) {
				t.Errorf("early: %q", got)
			}
			if got := contactNames(t, cs, owner, "1555010992", 10); !slices.Equal(got, []string{"Late Comer"}) {
				t.Errorf("phone digits: %q", got)
			}
			links := inbox.NewContactLinks(st, nil, nil, channels, nil)
			if _, err := links.Link(ctx, owner, 1, 2); err != nil {
				t.Fatalf("link after the migration: %v", err)
			}
		})
	}
}
