package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox/store"
)

// TestPruneExpired: expired sessions and tokens, and widget visitors
// unseen for store.VisitorLifetime, are deleted, in batches; live ones and
// tokens without an expiry stay. A visitor token idle for longer than the
// lifetime is unknown even before it is deleted.
func TestPruneExpired(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		now := f.now
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(-48 * time.Hour), now.Add(-time.Second)} {
			must(f.st.CreateToken(ctx, f.anna.ID, "expired-"+string(rune('a'+i)), "session", "login", now.Add(-72*time.Hour), exp))
		}
		must(f.st.CreateToken(ctx, f.anna.ID, "live-session", "session", "login", now, now.Add(time.Hour)))
		must(f.st.CreateToken(ctx, f.anna.ID, "api-forever", "api", "ci", now, time.Time{}))
		old := now.Add(-store.VisitorLifetime - time.Hour)
		must(f.st.CreateVisitor(ctx, "site", "v_old1", false, "visitor-old1", old))
		must(f.st.CreateVisitor(ctx, "site", "v_old2", false, "visitor-old2", old.Add(-24*time.Hour)))
		must(f.st.CreateVisitor(ctx, "site", "v_new", false, "visitor-new", now.Add(-24*time.Hour)))

		if key, err := f.st.VisitorByToken(ctx, "site", "visitor-old1", now); err != nil || key != "" {
			t.Fatalf("an idle visitor token still works: %q %v", key, err)
		}
		tokens, visitors, err := f.st.PruneExpired(ctx, now, 2)
		if err != nil || tokens != 3 || visitors != 2 {
			t.Fatalf("pruned %d tokens, %d visitors (%v), want 3 and 2", tokens, visitors, err)
		}
		var left []string
		must(f.st.DB().Raw(`SELECT hash FROM tokens ORDER BY hash`).Scan(&left).Error)
		if len(left) != 2 || left[0] != "api-forever" || left[1] != "live-session" {
			t.Fatalf("tokens left: %v", left)
		}
		var vs []string
		must(f.st.DB().Raw(`SELECT token_hash FROM widget_visitors`).Scan(&vs).Error)
		if len(vs) != 1 || vs[0] != "visitor-new" {
			t.Fatalf("visitors left: %v", vs)
		}
		if key, err := f.st.VisitorByToken(ctx, "site", "visitor-new", now); err != nil || key != "v_new" {
			t.Fatalf("a live visitor: %q %v", key, err)
		}
		if u, _, err := f.st.UserByToken(ctx, "live-session", now); err != nil || u == nil || u.ID != f.anna.ID {
			t.Fatalf("a live session: %+v %v", u, err)
		}
		if tokens, visitors, err := f.st.PruneExpired(ctx, now, 2); err != nil || tokens+visitors != 0 {
			t.Fatalf("a second pass deleted %d, %d (%v)", tokens, visitors, err)
		}
	})
}

// undoExpiryIndexes takes a fresh store back to before migration 0007
// (for tests of the migrations before it), undoing 0008 first.
func undoExpiryIndexes(t *testing.T, st *store.Store) {
	t.Helper()
	undoLinks(t, st) // 0014 comes after
	for _, u := range []string{`DROP INDEX outbox_channel`, `DELETE FROM schema_migrations WHERE version = 8`,
		`DROP INDEX tokens_expires`, `DROP INDEX widget_visitors_last_seen`,
		`DELETE FROM schema_migrations WHERE version = 7`} {
		if err := st.DB().Exec(u).Error; err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
}
