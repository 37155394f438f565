package store

import (
	"context"
	"database/sql"
	"time"
)

// The aggregates an operator's metrics read at scrape time, one statement
// each, read by index (TestMetricsAggregatesUseIndexes).

// OutboxBacklog is one channel's replies waiting in the outbox (sent and
// failed replies leave it).
type OutboxBacklog struct {
	ChannelID string
	Pending   int64
	// Oldest is when the oldest waiting reply was written.
	Oldest time.Time
}

// OutboxBacklogs returns the channels that have replies waiting, read from
// the index outbox(channel_id, created_at) (migration 0008; PostgreSQL
// scans the table instead, which holds only the waiting replies).
func (s *Store) OutboxBacklogs(ctx context.Context) ([]OutboxBacklog, error) {
	var rs []struct {
		ChannelID string
		Pending   int64
		Oldest    sql.NullString
	}
	// MIN over a time column comes back as text on SQLite: read it as
	// text on both and parse.
	if err := s.read(ctx).Raw(`SELECT channel_id, COUNT(*) AS pending, MIN(created_at) AS oldest
		FROM outbox GROUP BY channel_id`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]OutboxBacklog, 0, len(rs))
	for _, r := range rs {
		t, _ := parseDBTime(r.Oldest.String)
		out = append(out, OutboxBacklog{ChannelID: r.ChannelID, Pending: r.Pending, Oldest: t})
	}
	return out, nil
}

// UnassignedCounts returns the number of unassigned conversations per
// queue (queues without one are absent), read by conversations(status, ...).
func (s *Store) UnassignedCounts(ctx context.Context) (map[string]int64, error) {
	var rs []struct {
		Queue string
		N     int64
	}
	if err := s.read(ctx).Raw(`SELECT queue, COUNT(*) AS n FROM conversations WHERE status = 'unassigned' GROUP BY queue`).
		Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make(map[string]int64, len(rs))
	for _, r := range rs {
		out[r.Queue] = r.N
	}
	return out, nil
}

// OldestWaits returns, per queue, when the oldest unanswered customer
// message of its unassigned conversations arrived (queues where none waits
// are absent). A conversation waits since its oldest customer message after
// the team's last message that was not automatic (as WaitingChats). The
// conversations are found by conversations(status, ...), each one's
// messages by messages(conversation_id, id): the cost grows with the
// unassigned conversations (about 50 µs each), not with the journal.
func (s *Store) OldestWaits(ctx context.Context) (map[string]time.Time, error) {
	var rs []struct {
		Queue string
		Since sql.NullString
	}
	err := s.read(ctx).Raw(`SELECT c.queue,
		MIN((SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
			AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation_id = c.id
				AND o.direction = 'out' AND o.auto = ? AND o.kind = 'message'), 0))) AS since
		FROM conversations c WHERE c.status = 'unassigned' GROUP BY c.queue`, false).Scan(&rs).Error
	if err != nil {
		return nil, classify(err)
	}
	out := make(map[string]time.Time, len(rs))
	for _, r := range rs {
		if t, ok := parseDBTime(r.Since.String); ok {
			out[r.Queue] = t
		}
	}
	return out, nil
}
