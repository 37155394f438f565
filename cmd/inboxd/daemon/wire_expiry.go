package daemon

import (
	"context"
	"time"
)

// expireEvery is how often expired sessions, tokens and visitors are
// deleted.
const expireEvery = 10 * time.Minute

// wireExpiry deletes expired sessions and tokens and long-unused widget
// visitor tokens: one replica (the leader) does it every expireEvery, in
// batches. Expired rows already authenticate nobody; this keeps the
// tables from growing for ever.
func wireExpiry(w *wiring) {
	log := w.log.With("component", "expiry")
	w.addLeaderJob("expiry", func(ctx context.Context) {
		t := time.NewTicker(expireEvery)
		defer t.Stop()
		for {
			start := time.Now()
			tokens, visitors, err := w.store.PruneExpired(ctx, w.clock.Now(), 10000)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("deleting expired sessions failed", "err", err)
			case tokens+visitors > 0:
				log.Info("expired sessions deleted", "tokens", tokens, "visitors", visitors,
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
