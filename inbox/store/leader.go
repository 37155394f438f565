package store

import (
	"context"
	"hash/fnv"
	"log/slog"
	"time"
)

// LeaderRetry is how often a replica that is not the leader tries again.
const LeaderRetry = 2 * time.Second

// RunAsLeader runs fn while this process holds the lock named name, so
// that singleton work (a Telegram bot's polling, an IMAP mailbox, the
// opening-hours job) runs on exactly one replica. On PostgreSQL the lock is
// a session advisory lock on a connection of its own: if this replica dies
// or loses that connection, PostgreSQL releases the lock and another
// replica takes over within LeaderRetry; fn's context is cancelled when the
// lock is lost. SQLite has one process, which is always the leader.
// RunAsLeader returns when ctx is done.
func (s *Store) RunAsLeader(ctx context.Context, name string, log *slog.Logger, fn func(ctx context.Context)) {
	if s.dialect != Postgres {
		fn(ctx)
		return
	}
	// The schema is part of the key: installations (and test runs) in
	// other schemas of the same database do not elect each other.
	var schema string
	if err := s.db.WithContext(ctx).Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil && ctx.Err() == nil {
		log.Warn("leader: no current schema, locking by name only", "lock", name, "err", err)
	}
	key := lockKey(schema + ":" + name)
	for ctx.Err() == nil {
		held, release := s.tryLock(ctx, key)
		if held != nil {
			log.Info("leader: acquired", "lock", name)
			lctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				fn(lctx)
			}()
			// Watch the connection: a lost session means a lost lock.
			t := time.NewTicker(LeaderRetry)
		watch:
			for {
				select {
				case <-done:
					break watch
				case <-ctx.Done():
					break watch
				case <-t.C:
					if err := held(ctx); err != nil {
						log.Warn("leader: lost the lock's connection", "lock", name, "err", err)
						break watch
					}
				}
			}
			t.Stop()
			cancel()
			<-done
			release()
			if ctx.Err() != nil {
				return
			}
			log.Info("leader: released", "lock", name)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(LeaderRetry):
		}
	}
}

// tryLock takes the advisory lock on a dedicated connection. It returns a
// liveness check and a release function, or nils when another session
// holds the lock.
func (s *Store) tryLock(ctx context.Context, key int64) (func(context.Context) error, func()) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, nil
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, nil
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, nil
	}
	check := func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return conn.PingContext(c)
	}
	release := func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn.ExecContext(c, `SELECT pg_advisory_unlock($1)`, key)
		conn.Close()
	}
	return check, release
}

// lockKey maps a lock name to an advisory lock key.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("inboxd:" + name))
	return int64(h.Sum64())
}
