package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// Two reports on one message race on PostgreSQL: "delivered" reads the
// message while it is "sent", then a "read" commits. The late "delivered"
// must not take the message back. (SQLite runs one writer at a time, so
// the race needs PostgreSQL; without its URL the test is skipped.)
func TestDeliveryReportRaceKeepsTheLaterState(t *testing.T) {
	f := setup(t, store.Postgres) // skips without INBOXD_TEST_POSTGRES_URL
	ctx := context.Background()
	replyID, state := f.sentReply(t, "wamid.R1")
	if got := state(); got != inbox.DeliverySent {
		t.Fatalf("after send: %s", got)
	}

	// The "read" report: its row lock is held until it commits.
	other := f.st.DB().WithContext(ctx).Begin()
	defer other.Rollback()
	var pid int64
	if err := other.Raw(`SELECT pg_backend_pid()`).Scan(&pid).Error; err != nil {
		t.Fatal(err)
	}
	if err := other.Exec(`UPDATE messages SET delivery = ? WHERE id = ?`, string(inbox.DeliveryRead), replyID).Error; err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	events := len(f.events)
	f.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		done <- f.svc.UpdateDelivery(ctx, []inbox.DeliveryUpdate{{ChannelID: "crm", ProviderID: "wamid.R1", State: inbox.DeliveryDelivered}})
	}()
	// Wait until the "delivered" report, having read "sent", waits for
	// the row.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int64
		if err := f.st.DB().WithContext(ctx).Raw(`SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))`, pid).
			Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the report did not wait for the row: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the report never waited for the row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := other.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := state(); got != inbox.DeliveryRead {
		t.Fatalf("a late %q overwrote %q: %s", inbox.DeliveryDelivered, inbox.DeliveryRead, got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.events) - events; n != 0 {
		t.Fatalf("a report that did not apply published %d events", n)
	}
}
