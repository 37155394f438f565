package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Single sign-on's storage: the logins waiting for their callback
// (oidc_logins, migration 0016), and the accounts a first sign-on creates.

// maxOIDCLogins bounds the logins waiting at once (each expires within
// minutes): beyond, new ones are refused until some expire or complete.
const maxOIDCLogins = 10000

// PutOIDCLogin stores a started login under its state's hash, after
// deleting the expired ones. EUnavailable (503, retry) when too many are
// waiting.
func (s *Store) PutOIDCLogin(ctx context.Context, stateHash, nonce, verifier, next string, now, expires time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		if err := t.g.Exec(`DELETE FROM oidc_logins WHERE expires_at <= ?`, now).Error; err != nil {
			return err
		}
		var n int64
		if err := t.g.Raw(`SELECT COUNT(*) FROM oidc_logins`).Scan(&n).Error; err != nil {
			return err
		}
		if n >= maxOIDCLogins {
			return inbox.Errorf(inbox.ERateLimited, "too many sign-ins are in progress: try again in a minute")
		}
		return t.g.Exec(`INSERT INTO oidc_logins (state_hash, nonce, verifier, next_path, expires_at) VALUES (?, ?, ?, ?, ?)`,
			stateHash, nonce, verifier, next, expires).Error
	})
}

// TakeOIDCLogin removes and returns the login stored under the state's
// hash; ok is false when there is none or it has expired. A state works
// once.
func (s *Store) TakeOIDCLogin(ctx context.Context, stateHash string, now time.Time) (nonce, verifier, next string, ok bool, err error) {
	err = s.inTx(ctx, func(t *tx) error {
		var rs []struct {
			Nonce     string
			Verifier  string
			NextPath  string
			ExpiresAt time.Time
		}
		if err := t.g.Raw(`SELECT nonce, verifier, next_path, expires_at FROM oidc_logins WHERE state_hash = ?`+t.forUpdate(),
			stateHash).Scan(&rs).Error; err != nil {
			return err
		}
		if len(rs) == 0 {
			return nil
		}
		res := t.g.Exec(`DELETE FROM oidc_logins WHERE state_hash = ?`, stateHash)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 && rs[0].ExpiresAt.After(now) {
			nonce, verifier, next, ok = rs[0].Nonce, rs[0].Verifier, rs[0].NextPath, true
		}
		return nil
	})
	return nonce, verifier, next, ok, err
}

// CreateSSOUser stores a user a first single sign-on creates (no
// password: it logs in through the identity provider only) with its audit
// entry, in one transaction. EConflict when the email is taken.
func (s *Store) CreateSSOUser(ctx context.Context, u *inbox.User, audit *inbox.AuditEntry) error {
	err := s.inTx(ctx, func(t *tx) error {
		var n int64
		if err := t.g.Raw(`SELECT COUNT(*) FROM users WHERE email = ?`, u.Email).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return inbox.Errorf(inbox.EConflict, "a user with this email exists")
		}
		if u.Presence == "" {
			u.Presence = inbox.PresenceOffline
		}
		if err := t.g.Raw(`INSERT INTO users (email, name, role, password_hash, presence, queues, created_at)
			VALUES (?, ?, ?, '', ?, ?, ?) RETURNING id`, u.Email, u.Name, string(u.Role),
			string(u.Presence), strings.Join(u.Queues, ","), u.CreatedAt).Scan(&u.ID).Error; err != nil {
			return err
		}
		audit.TargetID = strconv.FormatInt(u.ID, 10)
		return t.InsertAudit(ctx, audit)
	})
	if err == inbox.ErrRetryTx {
		return inbox.Errorf(inbox.EConflict, "a user with this email exists")
	}
	return err
}
