package daemon

import (
	"context"
	"time"
)

// pruneEvery is how often the events table is pruned.
const pruneEvery = 10 * time.Minute

// wireEvents keeps the events table to events.retention: one replica (the
// leader) deletes older events every pruneEvery, in batches.
func wireEvents(w *wiring) {
	retention := w.cfg.Events.Retention
	log := w.log.With("component", "events")
	w.addLeaderJob("events-retention", func(ctx context.Context) {
		t := time.NewTicker(pruneEvery)
		defer t.Stop()
		for {
			before := w.clock.Now().Add(-retention)
			start := time.Now()
			n, err := w.store.PruneEvents(ctx, before, 10000)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("pruning events failed", "err", err)
			case n > 0:
				log.Info("events pruned", "deleted", n, "before", before.Format(time.RFC3339),
					"duration_ms", time.Since(start).Milliseconds())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
