package store

import (
	"context"

	"github.com/inboxd/inboxd/inbox"
)

// Audit-log bounds: what a caller gives is cut, never refused (a record
// must not fail the change it records).
const (
	auditTextMax = 200
	auditDataMax = 8 << 10
)

func (t *tx) InsertAudit(ctx context.Context, e *inbox.AuditEntry) error {
	data := encodeMap(e.Data)
	if len(data) > auditDataMax {
		data = encodeMap(map[string]string{"truncated": "the change was too large to record"})
	}
	return t.g.Raw(`INSERT INTO audit_log (created_at, actor_id, actor_name, ip, action, target_type, target_id, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.CreatedAt.UTC(), e.ActorID, cut(e.ActorName, auditTextMax),
		cut(e.IP, 64), string(e.Action), cut(e.TargetType, 40), cut(e.TargetID, auditTextMax), data).Scan(&e.ID).Error
}

// Audit records an entry in a transaction of its own.
func (s *Store) Audit(ctx context.Context, e *inbox.AuditEntry) error {
	return s.inTx(ctx, func(t *tx) error { return t.InsertAudit(ctx, e) })
}

// cut bounds s to n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

var (
	_ inbox.AuditTx = (*tx)(nil)
	_ inbox.Auditor = (*Store)(nil)
)
