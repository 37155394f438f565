package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// EventsChannel is the PostgreSQL NOTIFY channel raised by every commit
// that writes events.
const EventsChannel = "inboxd_events"

// ListenEvents calls wake whenever any replica commits events, until ctx
// is done. It holds one connection in LISTEN, reconnects with backoff when
// it drops, and calls wake after each (re)connect so nothing committed in
// between is missed. On SQLite (one process) it only waits for ctx.
func (s *Store) ListenEvents(ctx context.Context, log *slog.Logger, wake func()) {
	if s.dialect != Postgres {
		<-ctx.Done()
		return
	}
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("event listener: connection lost, reconnecting", "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, wake func()) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+EventsChannel); err != nil {
			return err
		}
		wake()
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			wake()
		}
	})
}
