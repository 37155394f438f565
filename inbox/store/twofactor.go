package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Two-factor authentication's storage: the users' totp_* columns and the
// recovery_codes table (migration 0016). The secret arrives already in its
// stored form (sealed by the API when auth.totp_key is set).

// TwoFactor returns a user's second factor; ENotFound for an unknown user.
func (s *Store) TwoFactor(ctx context.Context, userID int64) (inbox.TwoFactor, error) {
	var rs []struct {
		TotpSecret    string
		TotpEnabledAt sql.NullTime
		TotpLastStep  int64
		RecoveryLeft  int
	}
	err := s.read(ctx).Raw(`SELECT u.totp_secret, u.totp_enabled_at, u.totp_last_step,
		(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_left
		FROM users u WHERE u.id = ?`, userID).Scan(&rs).Error
	if err != nil {
		return inbox.TwoFactor{}, classify(err)
	}
	if len(rs) == 0 {
		return inbox.TwoFactor{}, inbox.Errorf(inbox.ENotFound, "user not found")
	}
	r := rs[0]
	tf := inbox.TwoFactor{Secret: r.TotpSecret, LastStep: r.TotpLastStep, RecoveryLeft: r.RecoveryLeft}
	if r.TotpEnabledAt.Valid {
		tf.EnabledAt = r.TotpEnabledAt.Time.UTC()
	}
	return tf, nil
}

// BeginTwoFactor stores a pending enrolment: the secret and the recovery
// codes' hashes, replacing an earlier pending one. EConflict when two-factor
// authentication is on already (turn it off first).
func (s *Store) BeginTwoFactor(ctx context.Context, userID int64, secret string, codeHashes []string) error {
	return s.inTx(ctx, func(t *tx) error {
		res := t.g.Exec(`UPDATE users SET totp_secret = ?, totp_last_step = 0 WHERE id = ? AND totp_enabled_at IS NULL`, secret, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.EConflict, "two-factor authentication is on: turn it off first")
		}
		if err := t.g.Exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		for _, h := range codeHashes {
			if err := t.g.Exec(`INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// EnableTwoFactor confirms a pending enrolment with the step of the code
// that confirmed it, and records the audit entry in the same transaction.
// EConflict when nothing is pending (or it is on already).
func (s *Store) EnableTwoFactor(ctx context.Context, userID, step int64, now time.Time, audit *inbox.AuditEntry) error {
	return s.inTx(ctx, func(t *tx) error {
		res := t.g.Exec(`UPDATE users SET totp_enabled_at = ?, totp_last_step = ?
			WHERE id = ? AND totp_secret <> '' AND totp_enabled_at IS NULL AND totp_last_step < ?`, now, step, userID, step)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.EConflict, "no two-factor enrolment is waiting for confirmation")
		}
		return t.InsertAudit(ctx, audit)
	})
}

// DisableTwoFactor turns a user's second factor off (the user's own
// choice, or an owner's reset): secret, step and recovery codes go, and
// the audit entry is recorded in the same transaction. ENotFound for an
// unknown user, EConflict when it was not on.
func (s *Store) DisableTwoFactor(ctx context.Context, userID int64, audit *inbox.AuditEntry) error {
	return s.inTx(ctx, func(t *tx) error {
		var n int64
		if err := t.g.Raw(`SELECT COUNT(*) FROM users WHERE id = ?`, userID).Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return inbox.Errorf(inbox.ENotFound, "user not found")
		}
		res := t.g.Exec(`UPDATE users SET totp_secret = '', totp_enabled_at = NULL, totp_last_step = 0
			WHERE id = ? AND totp_enabled_at IS NOT NULL`, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return inbox.Errorf(inbox.EConflict, "two-factor authentication is not on")
		}
		if err := t.g.Exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		return t.InsertAudit(ctx, audit)
	})
}

// UseTOTPStep records that a code of step was accepted, unless a code of
// that step or a later one was accepted already (then false): a code works
// once, also when two replicas check it at the same moment.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	var ok bool
	err := s.inTx(ctx, func(t *tx) error {
		res := t.g.Exec(`UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_enabled_at IS NOT NULL AND totp_last_step < ?`,
			step, userID, step)
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok && err == nil, err
}

// UseRecoveryCode marks the user's unused code with that hash used and
// reports whether there was one: each code works once.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash string, now time.Time) (bool, error) {
	var ok bool
	err := s.inTx(ctx, func(t *tx) error {
		res := t.g.Exec(`UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL
			AND EXISTS (SELECT 1 FROM users u WHERE u.id = recovery_codes.user_id AND u.totp_enabled_at IS NOT NULL)`,
			now, userID, hash)
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok && err == nil, err
}
