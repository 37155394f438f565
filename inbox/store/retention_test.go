package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestPruneEvents: events older than the cut are deleted in batches,
// oldest first; newer ones stay and the feeds' replay still finds them.
func TestPruneEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for i := range 7 {
			f.ingest("crm", fmt.Sprintf("old%d", i), "c1", "old") // 2 events each
		}
		cut := f.now.Add(time.Second)
		f.now = f.now.Add(time.Hour)
		for i := range 3 {
			f.ingest("crm", fmt.Sprintf("new%d", i), "c2", "new")
		}
		n, err := f.st.PruneEvents(ctx, cut, 4) // 14 old events: batches of 4, 4, 4, 2
		if err != nil || n != 14 {
			t.Fatalf("pruned %d, %v; want 14", n, err)
		}
		evs, err := f.st.EventsSince(ctx, 0, 100)
		if err != nil || len(evs) != 6 {
			t.Fatalf("left %d events, %v; want the 6 new ones", len(evs), err)
		}
		for _, e := range evs {
			if e.CreatedAt.Before(cut) {
				t.Fatalf("an old event survived: %+v", e)
			}
		}
		if n, err := f.st.PruneEvents(ctx, cut, 4); err != nil || n != 0 {
			t.Fatalf("second prune: %d, %v", n, err)
		}
	})
}
