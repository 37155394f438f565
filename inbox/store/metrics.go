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

// UnassignedQueue is one queue's unassigned conversations.
type UnassignedQueue struct {
	Queue      string
	Unassigned int64
	// WaitingSince is when the oldest unanswered customer message of these
	// conversations arrived (zero: none waits for an answer).
	WaitingSince time.Time
}

// UnassignedQueues returns the queues that have unassigned conversations.
// A conversation waits since its oldest customer message after the team's
// last message that was not automatic (as WaitingChats). The conversations
// are found by conversations(status, ...), each one's messages by
// messages(conversation_id, id): the cost grows with the unassigned
// conversations and their unanswered messages, not with the journal.
func (s *Store) UnassignedQueues(ctx context.Context) ([]UnassignedQueue, error) {
	var rs []struct {
		Queue      string
		Unassigned int64
		Since      sql.NullString
	}
	err := s.read(ctx).Raw(`SELECT c.queue, COUNT(*) AS unassigned,
		MIN((SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
			AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o WHERE o.conversation_id = c.id
				AND o.direction = 'out' AND o.auto = ?), 0))) AS since
		FROM conversations c WHERE c.status = 'unassigned' GROUP BY c.queue`, false).Scan(&rs).Error
	if err != nil {
		return nil, classify(err)
	}
	out := make([]UnassignedQueue, 0, len(rs))
	for _, r := range rs {
		t, _ := parseDBTime(r.Since.String)
		out = append(out, UnassignedQueue{Queue: r.Queue, Unassigned: r.Unassigned, WaitingSince: t})
	}
	return out, nil
}
