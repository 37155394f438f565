package store

import (
	"context"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// PruneEvents deletes the events created before before, oldest first, in
// transactions of at most batch rows (short locks, bounded WAL), and
// returns how many it deleted. The live feeds replay from this table: a
// client resuming from a deleted id gets what is left.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, batch int) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.InTx(ctx, func(itx inbox.Tx) error {
			// Ids grow with time: the candidates are the oldest rows by
			// id, read from the primary key (no created_at index).
			r := itx.(*tx).g.Exec(`DELETE FROM events WHERE id IN (
				SELECT id FROM (SELECT id, created_at FROM events ORDER BY id LIMIT ?) AS oldest WHERE created_at < ?)`,
				batch, before.UTC())
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
