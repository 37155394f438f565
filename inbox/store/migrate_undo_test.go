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
	10: {`ALTER TABLE messages DROP COLUMN kind`, `ALTER TABLE messages DROP COLUMN mentions`, `ALTER TABLE users DROP COLUMN deactivated_at`},
	13: {`DROP TABLE webhook_subscribers`, `DROP INDEX registered_contacts_conversation`},
	14: {`DROP TABLE links`},
	15: {`DROP TABLE user_links`},
	16: {`DROP TABLE oidc_logins`, `DROP TABLE recovery_codes`, `ALTER TABLE users DROP COLUMN totp_last_step`,
		`ALTER TABLE users DROP COLUMN totp_enabled_at`, `ALTER TABLE users DROP COLUMN totp_secret`},
	17: {`DROP INDEX reads_conversation`, `DROP INDEX notifications_conversation`},
	18: {`DROP INDEX messages_provider`, `CREATE INDEX messages_provider ON messages(channel_id, provider_id)`},
}

// migrationUndoFunc undoes the migrations whose undo differs by dialect.
var migrationUndoFunc = map[int]func(*testing.T, *store.Store){
	11: undoTagsCanned,
	12: undoContacts,
}

// undoAfter takes a fresh store back to schema version v, newest
// migration first.
func undoAfter(t *testing.T, st *store.Store, v int) {
	t.Helper()
	var applied []int
	if err := st.DB().Raw(`SELECT version FROM schema_migrations WHERE version > ? ORDER BY version DESC`, v).Scan(&applied).Error; err != nil {
		t.Fatal(err)
	}
	for _, ver := range applied {
		undo, ok := migrationUndo[ver]
		if f, special := migrationUndoFunc[ver]; special {
			f(t, st)
			ok = true
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
