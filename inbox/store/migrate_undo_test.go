package store_test

import (
	"context"
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
	17: {`DROP INDEX reads_conversation`, `DROP INDEX notifications_conversation`, `DROP INDEX registered_contacts_conversation`},
}

// undoAfter takes a fresh store back to schema version v, newest
// migration first.
func undoAfter(t *testing.T, st *store.Store, v int) {
	t.Helper()
	cur, err := st.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Numbers are given out to features ahead of time: a gap is a number
	// no migration of this build uses, which has nothing to undo.
	var applied []int
	if err := st.DB().Raw(`SELECT version FROM schema_migrations`).Scan(&applied).Error; err != nil {
		t.Fatal(err)
	}
	known := map[int]bool{}
	for _, a := range applied {
		known[a] = true
	}
	for ver := cur; ver > v; ver-- {
		undo, ok := migrationUndo[ver]
		if !ok && !known[ver] {
			continue // a number no migration of this build uses
		}
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
