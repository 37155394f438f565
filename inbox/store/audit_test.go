package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestAuditRecords: an entry is stored with every field, bounded, in the
// transaction of its change or on its own; a change that rolls back takes
// its entry with it.
func TestAuditRecords(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			e := &inbox.AuditEntry{CreatedAt: at, ActorID: 7, ActorName: "Olga", IP: "203.0.113.9",
				Action: inbox.AuditUserUpdated, TargetType: "user", TargetID: "12",
				Data: map[string]string{"before.role": "agent", "after.role": "admin"}}
			if err := st.Audit(ctx, e); err != nil || e.ID == 0 {
				t.Fatalf("audit: %v, id %d", err, e.ID)
			}
			huge := &inbox.AuditEntry{CreatedAt: at, Action: inbox.AuditLoginFailed, ActorName: strings.Repeat("é", 500),
				Data: map[string]string{"x": strings.Repeat("y", 20000)}}
			if err := st.Audit(ctx, huge); err != nil {
				t.Fatalf("an oversized entry: %v", err)
			}
			errRollback := inbox.Errorf(inbox.EConflict, "the change failed")
			err := st.InTx(ctx, func(tx inbox.Tx) error {
				if err := tx.InsertAudit(ctx, &inbox.AuditEntry{CreatedAt: at, Action: inbox.AuditUserCreated}); err != nil {
					return err
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatalf("rollback: %v", err)
			}
			var rows []struct {
				ActorID   int64
				ActorName string
				IP        string
				Action    string
				TargetID  string
				Data      string
			}
			if err := st.DB().Raw(`SELECT actor_id, actor_name, ip, action, target_id, data FROM audit_log ORDER BY id`).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("%d entries, want 2 (the rolled-back one absent)", len(rows))
			}
			if r := rows[0]; r.ActorID != 7 || r.IP != "203.0.113.9" || r.Action != "user.updated" || r.TargetID != "12" ||
				!strings.Contains(r.Data, "admin") {
				t.Errorf("entry %+v", r)
			}
			if r := rows[1]; len(r.ActorName) > 200 || !strings.Contains(r.Data, "truncated") {
				t.Errorf("oversized entry kept %d bytes of name, data %q", len(r.ActorName), r.Data[:min(len(r.Data), 80)])
			}
		})
	}
}
