package store

import (
	"context"
	"time"
)

// PruneEvents deletes the events created before before, oldest first, in
// transactions of at most batch rows (short locks, bounded WAL), and
// returns how many it deleted. The live feeds replay from this table: a
// client resuming from a deleted id gets what is left.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, batch int) (int64, error) {
	// Ids grow with time: the candidates are the oldest rows by id, read
	// from the primary key (no created_at index).
	return s.pruneBatches(ctx, batch, `DELETE FROM events WHERE id IN (
		SELECT id FROM (SELECT id, created_at FROM events ORDER BY id LIMIT ?) AS oldest WHERE created_at < ?)`,
		batch, before.UTC())
}

// PruneExpired deletes what can no longer authenticate anyone: sessions
// and tokens whose expires_at is before now, and widget visitors unseen
// for VisitorLifetime. It deletes in transactions of at most batch rows
// and returns how many of each it deleted.
func (s *Store) PruneExpired(ctx context.Context, now time.Time, batch int) (tokens, visitors int64, err error) {
	tokens, err = s.pruneBatches(ctx, batch, `DELETE FROM tokens WHERE id IN (
		SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?)`, now.UTC(), batch)
	if err != nil {
		return tokens, 0, err
	}
	visitors, err = s.pruneBatches(ctx, batch, `DELETE FROM widget_visitors WHERE id IN (
		SELECT id FROM widget_visitors WHERE last_seen_at < ? LIMIT ?)`, now.Add(-VisitorLifetime).UTC(), batch)
	return tokens, visitors, err
}

// pruneBatches runs stmt, a DELETE of at most batch rows, one
// transaction at a time until it deletes fewer than batch rows.
func (s *Store) pruneBatches(ctx context.Context, batch int, stmt string, args ...any) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(t *tx) error {
			r := t.g.Exec(stmt, args...)
			n = r.RowsAffected
			return r.Error
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
