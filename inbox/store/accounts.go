package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Users as their managers see them (status, last seen), their one-time
// links, and the audit log's reading side. Migration 0015 adds
// users.deactivated_at and user_links.

// account is the user with its account status.
func (r *userRow) account() *inbox.Account {
	a := &inbox.Account{User: *r.domain(), Status: inbox.AccountActive}
	switch {
	case r.DeactivatedAt.Valid:
		a.Status, a.DeactivatedAt = inbox.AccountDeactivated, r.DeactivatedAt.Time.UTC()
	case r.PasswordHash == "":
		a.Status = inbox.AccountInvited
	}
	if r.LastSeenAt.Valid {
		a.LastSeenAt = r.LastSeenAt.Time.UTC()
	}
	return a
}

// Accounts returns every user with its status, by name.
func (s *Store) Accounts(ctx context.Context) ([]inbox.Account, error) {
	var rs []userRow
	if err := s.read(ctx).Raw(`SELECT ` + userCols + ` FROM users u ORDER BY u.name, u.id`).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.Account, len(rs))
	for i := range rs {
		out[i] = *rs[i].account()
	}
	return out, nil
}

// Account returns one user with its status.
func (s *Store) Account(ctx context.Context, id int64) (*inbox.Account, error) {
	var rs []userRow
	if err := s.read(ctx).Raw(`SELECT `+userCols+` FROM users u WHERE u.id = ?`, id).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "user not found")
	}
	return rs[0].account(), nil
}

// LinkUser returns the user of a live one-time link (not used, not
// expired, its user not deactivated); ENotFound otherwise.
func (s *Store) LinkUser(ctx context.Context, hash string, now time.Time) (int64, inbox.LinkKind, error) {
	var rs []struct {
		UserID int64
		Kind   string
	}
	if err := s.read(ctx).Raw(`SELECT l.user_id, l.kind FROM user_links l JOIN users u ON u.id = l.user_id
		WHERE l.hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND u.deactivated_at IS NULL`, hash, now.UTC()).
		Scan(&rs).Error; err != nil {
		return 0, "", classify(err)
	}
	if len(rs) == 0 {
		return 0, "", errDeadLink
	}
	return rs[0].UserID, inbox.LinkKind(rs[0].Kind), nil
}

var errDeadLink = inbox.Errorf(inbox.ENotFound, "this link is not valid (used, expired or revoked)")

func (t *tx) LockAccount(ctx context.Context, id int64) (*inbox.Account, error) {
	var rs []userRow
	if err := t.g.Raw(`SELECT `+userCols+` FROM users u WHERE u.id = ?`+t.forUpdate(), id).Scan(&rs).Error; err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "user not found")
	}
	return rs[0].account(), nil
}

func (t *tx) ActiveOwners(ctx context.Context) (int, error) {
	var ids []int64
	err := t.g.Raw(`SELECT id FROM users WHERE role = ? AND deactivated_at IS NULL AND password_hash <> '' ORDER BY id`+
		t.forUpdate(), string(inbox.RoleOwner)).Scan(&ids).Error
	return len(ids), err
}

func (t *tx) InsertUser(ctx context.Context, u *inbox.User, passwordHash string) error {
	var n int64
	if err := t.g.Raw(`SELECT COUNT(*) FROM users WHERE email = ?`, u.Email).Scan(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return inbox.Errorf(inbox.EConflict, "a user with this email exists")
	}
	err := t.g.Raw(`INSERT INTO users (email, name, role, password_hash, presence, queues, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, u.Email, u.Name, string(u.Role), passwordHash,
		string(u.Presence), strings.Join(u.Queues, ","), u.CreatedAt.UTC()).Scan(&u.ID).Error
	if err != nil && isUnique(err) { // a concurrent creation took the email
		return inbox.Errorf(inbox.EConflict, "a user with this email exists")
	}
	return err
}

func (t *tx) UpdateUser(ctx context.Context, u *inbox.User) error {
	return t.g.Exec(`UPDATE users SET name = ?, role = ?, queues = ? WHERE id = ?`,
		u.Name, string(u.Role), strings.Join(u.Queues, ","), u.ID).Error
}

func (t *tx) SetDeactivated(ctx context.Context, userID int64, at time.Time) error {
	if at.IsZero() {
		return t.g.Exec(`UPDATE users SET deactivated_at = NULL WHERE id = ?`, userID).Error
	}
	return t.g.Exec(`UPDATE users SET deactivated_at = ?, presence = ? WHERE id = ?`,
		at.UTC(), string(inbox.PresenceOffline), userID).Error
}

func (t *tx) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	return t.g.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID).Error
}

func (t *tx) RevokeTokens(ctx context.Context, userID int64) error {
	return t.g.Exec(`DELETE FROM tokens WHERE user_id = ?`, userID).Error
}

func (t *tx) InsertAccountLink(ctx context.Context, userID int64, l inbox.AccountLink, now time.Time) error {
	return t.g.Exec(`INSERT INTO user_links (user_id, hash, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		userID, l.Hash, string(l.Kind), now.UTC(), l.ExpiresAt.UTC()).Error
}

func (t *tx) TakeAccountLink(ctx context.Context, hash string, now time.Time) (int64, inbox.LinkKind, error) {
	var rs []struct {
		UserID int64
		Kind   string
	}
	// One statement decides: of two concurrent uses, one updates the row.
	if err := t.g.Raw(`UPDATE user_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id, kind`, now.UTC(), hash, now.UTC()).Scan(&rs).Error; err != nil {
		return 0, "", err
	}
	if len(rs) == 0 {
		return 0, "", errDeadLink
	}
	return rs[0].UserID, inbox.LinkKind(rs[0].Kind), nil
}

func (t *tx) DeleteAccountLinks(ctx context.Context, userID int64) error {
	return t.g.Exec(`DELETE FROM user_links WHERE user_id = ?`, userID).Error
}

func (t *tx) ConversationsOf(ctx context.Context, userID int64, status inbox.Status) ([]int64, error) {
	var ids []int64
	err := t.g.Raw(`SELECT c.id FROM conversations c JOIN participants p ON p.conversation_id = c.id
		WHERE p.user_id = ? AND c.status = ? ORDER BY c.id`, userID, string(status)).Scan(&ids).Error
	return ids, err
}

// AuditEntries reads the audit log, newest first, below f.Before (an id;
// 0: from the newest), filtered by actor and action.
func (s *Store) AuditEntries(ctx context.Context, f inbox.AuditFilter) ([]inbox.AuditEntry, error) {
	q := `SELECT id, created_at, actor_id, actor_name, ip, action, target_type, target_id, data FROM audit_log WHERE 1 = 1`
	var args []any
	if f.ActorID != 0 {
		q += ` AND actor_id = ?`
		args = append(args, f.ActorID)
	}
	if f.Action != "" {
		q += ` AND action = ?`
		args = append(args, string(f.Action))
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ` + strconv.Itoa(max(f.Limit, 1))
	var rs []struct {
		ID         int64
		CreatedAt  time.Time
		ActorID    int64
		ActorName  string
		IP         string
		Action     string
		TargetType string
		TargetID   string
		Data       string
	}
	if err := s.read(ctx).Raw(q, args...).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	out := make([]inbox.AuditEntry, len(rs))
	for i, r := range rs {
		out[i] = inbox.AuditEntry{ID: r.ID, CreatedAt: r.CreatedAt.UTC(), ActorID: r.ActorID, ActorName: r.ActorName,
			IP: r.IP, Action: inbox.AuditAction(r.Action), TargetType: r.TargetType, TargetID: r.TargetID, Data: decodeMap(r.Data)}
	}
	return out, nil
}

var _ inbox.UserTx = (*tx)(nil)
