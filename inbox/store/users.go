package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

type userRow struct {
	ID            int64
	Email         string
	Name          string
	Role          string
	PasswordHash  string
	Presence      string
	Queues        string
	Notifications string
	CreatedAt     time.Time
	LastSeenAt    sql.NullTime
	DeactivatedAt sql.NullTime
	TotpEnabledAt sql.NullTime
}

const userCols = `u.id, u.email, u.name, u.role, u.password_hash, u.presence, u.queues, u.notifications, u.created_at,
	u.last_seen_at, u.deactivated_at, u.totp_enabled_at`

func (r *userRow) domain() *inbox.User {
	u := &inbox.User{ID: r.ID, Email: r.Email, Name: r.Name, Role: inbox.Role(r.Role),
		Presence: inbox.Presence(r.Presence), CreatedAt: r.CreatedAt.UTC(), Deactivated: r.DeactivatedAt.Valid,
		TwoFactor: r.TotpEnabledAt.Valid, HasPassword: r.PasswordHash != ""}
	if r.Queues != "" {
		u.Queues = strings.Split(r.Queues, ",")
	}
	return u
}

// CreateUser stores a new user; EConflict when the email is taken.
func (s *Store) CreateUser(ctx context.Context, u *inbox.User, passwordHash string) error {
	run := func(t *tx) error {
		g := t.g
		var n int64
		if err := g.Raw(`SELECT COUNT(*) FROM users WHERE email = ?`, u.Email).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return inbox.Errorf(inbox.EConflict, "a user with this email exists")
		}
		if u.Presence == "" {
			u.Presence = inbox.PresenceOffline
		}
		return g.Raw(`INSERT INTO users (email, name, role, password_hash, presence, queues, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, u.Email, u.Name, string(u.Role), passwordHash,
			string(u.Presence), strings.Join(u.Queues, ","), u.CreatedAt).Scan(&u.ID).Error
	}
	err := s.inTx(ctx, run)
	if err == inbox.ErrRetryTx { // two creations raced on the unique email
		return inbox.Errorf(inbox.EConflict, "a user with this email exists")
	}
	return err
}

// CountUsers returns how many users have the role ("" for all).
func (s *Store) CountUsers(ctx context.Context, role inbox.Role) (int64, error) {
	var n int64
	q := s.read(ctx)
	var err error
	if role == "" {
		err = q.Raw(`SELECT COUNT(*) FROM users`).Scan(&n).Error
	} else {
		err = q.Raw(`SELECT COUNT(*) FROM users WHERE role = ?`, string(role)).Scan(&n).Error
	}
	return n, classify(err)
}

// Credentials returns the user with that email and its password hash, for
// login; a nil user when there is none or it is deactivated (which a login
// answers as it answers a wrong password).
func (s *Store) Credentials(ctx context.Context, email string) (*inbox.User, string, error) {
	var rs []userRow
	if err := s.read(ctx).Raw(`SELECT `+userCols+` FROM users u WHERE u.email = ? AND u.deactivated_at IS NULL`, email).Scan(&rs).Error; err != nil {
		return nil, "", classify(err)
	}
	if len(rs) == 0 {
		return nil, "", nil
	}
	return rs[0].domain(), rs[0].PasswordHash, nil
}

// User returns a user by id.
func (s *Store) User(ctx context.Context, id int64) (*inbox.User, error) {
	var rs []userRow
	if err := s.read(ctx).Raw(`SELECT `+userCols+` FROM users u WHERE u.id = ?`, id).Scan(&rs).Error; err != nil {
		return nil, classify(err)
	}
	if len(rs) == 0 {
		return nil, inbox.Errorf(inbox.ENotFound, "user not found")
	}
	return rs[0].domain(), nil
}

// Token kinds.
const (
	TokenSession = "session"
	TokenAPI     = "api"
)

// CreateToken stores a token's hash.
func (s *Store) CreateToken(ctx context.Context, userID int64, hash, kind, name string, now, expires time.Time) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`INSERT INTO tokens (user_id, hash, kind, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			userID, hash, kind, name, now, nullTime(expires)).Error
	})
}

// UserByToken returns the user a live token belongs to, nil when the token
// is unknown or expired. last_used_at and last_seen_at are refreshed at
// most once a minute, to keep reads cheap.
func (s *Store) UserByToken(ctx context.Context, hash string, now time.Time) (*inbox.User, string, error) {
	var toks []struct {
		ID         int64
		UserID     int64
		Kind       string
		ExpiresAt  sql.NullTime
		LastUsedAt sql.NullTime
	}
	// A deactivated user's tokens are deleted with the deactivation; the
	// join keeps one written by a racing login from working.
	if err := s.read(ctx).Raw(`SELECT t.id, t.user_id, t.kind, t.expires_at, t.last_used_at FROM tokens t
		JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND u.deactivated_at IS NULL`, hash).
		Scan(&toks).Error; err != nil {
		return nil, "", classify(err)
	}
	if len(toks) == 0 || (toks[0].ExpiresAt.Valid && !toks[0].ExpiresAt.Time.After(now)) {
		return nil, "", nil
	}
	tk := toks[0]
	u, err := s.User(ctx, tk.UserID)
	if err != nil {
		return nil, "", err
	}
	if !tk.LastUsedAt.Valid || now.Sub(tk.LastUsedAt.Time) > time.Minute {
		_ = s.inTx(ctx, func(t *tx) error {
			g := t.g
			if err := g.Exec(`UPDATE tokens SET last_used_at = ? WHERE id = ?`, now, tk.ID).Error; err != nil {
				return err
			}
			return g.Exec(`UPDATE users SET last_seen_at = ? WHERE id = ?`, now, u.ID).Error
		})
	}
	return u, tk.Kind, nil
}

// LiveTokens returns which of the token hashes are live (stored and not
// expired at now), in one query (per 500): the live feeds re-check the credentials
// they were opened with.
func (s *Store) LiveTokens(ctx context.Context, hashes []string, now time.Time) (map[string]bool, error) {
	live := make(map[string]bool, len(hashes))
	if len(hashes) == 0 {
		return live, nil
	}
	for len(hashes) > 0 {
		n := min(len(hashes), 500) // bound the statement's parameters
		var rs []string
		if err := s.read(ctx).Raw(`SELECT hash FROM tokens WHERE hash IN ? AND (expires_at IS NULL OR expires_at > ?)`, hashes[:n], now).
			Scan(&rs).Error; err != nil {
			return nil, classify(err)
		}
		for _, h := range rs {
			live[h] = true
		}
		hashes = hashes[n:]
	}
	return live, nil
}

// DeleteToken removes a token (logout).
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`DELETE FROM tokens WHERE hash = ?`, hash).Error
	})
}

// SetPresence changes a user's presence.
func (s *Store) SetPresence(ctx context.Context, userID int64, p inbox.Presence) error {
	return s.inTx(ctx, func(t *tx) error {
		return t.g.Exec(`UPDATE users SET presence = ? WHERE id = ?`, string(p), userID).Error
	})
}
