package store_test

import (
	"strconv"
	"testing"

	"github.com/inboxd/inboxd/inbox/store"
)

// migrationUndo undoes each migration from 0007 on, on both dialects, so
// that tests of an earlier migration can take a fresh store back to before
// it (Migrate applies only versions above the newest recorded). Every new
// migration adds its entry here; undoAfter fails on one without.
var migrationUndo = map[int][]string{
	7:  {`DROP INDEX tokens_expires`, `DROP INDEX widget_visitors_last_seen`},
	8:  {`DROP INDEX outbox_channel`},
	9:  {`DROP TABLE audit_log`},
	15: {`DROP TABLE user_links`, `ALTER TABLE users DROP COLUMN deactivated_at`},
}

// undoAfter takes a fresh store back to schema version v, newest
// migration first.
func undoAfter(t *testing.T, st *store.Store, v int) {
	t.Helper()
	// The versions recorded, newest first: numbers may have gaps (features
	// are given numbers ahead of their merge).
	var vers []int
	if err := st.DB().Raw(`SELECT version FROM schema_migrations WHERE version > ? ORDER BY version DESC`, v).
		Scan(&vers).Error; err != nil {
		t.Fatal(err)
	}
	for _, ver := range vers {
		undo, ok := migrationUndo[ver]
		if !ok {
			t.Fatalf("no undo for migration %d: add it to migrationUndo", ver)
		}
		for _, u := range append(undo, "DELETE FROM schema_migrations WHERE version = "+strconv.Itoa(ver)) {
			if err := st.DB().Exec(u).Error; err != nil {
				t.Fatalf("undo %d: %s: %v", ver, u, err)
			}
		}
	}
}
