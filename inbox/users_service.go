package inbox

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// UserTx is what managing users needs of a transaction: the accounts,
// their credentials and links, the conversations a deactivated user
// leaves, and the audit log.
type UserTx interface {
	ActionTx
	AuditTx
	// LockAccount loads a user and locks it for the transaction; ENotFound
	// when absent.
	LockAccount(ctx context.Context, id int64) (*Account, error)
	// ActiveOwners counts the active owners, locking their rows (two
	// owners demoted at once cannot both pass the last-owner check).
	ActiveOwners(ctx context.Context) (int, error)
	// InsertUser stores a new user, assigning its ID; EConflict when the
	// email is taken.
	InsertUser(ctx context.Context, u *User, passwordHash string) error
	// UpdateUser writes name, role and queues.
	UpdateUser(ctx context.Context, u *User) error
	// SetDeactivated marks a user deactivated at at (and offline), or
	// active again when at is zero.
	SetDeactivated(ctx context.Context, userID int64, at time.Time) error
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
	// RevokeTokens deletes the user's sessions and API tokens.
	RevokeTokens(ctx context.Context, userID int64) error
	InsertAccountLink(ctx context.Context, userID int64, l AccountLink, now time.Time) error
	// TakeAccountLink marks a live link used and returns its user and kind;
	// ENotFound when the link is unknown, used or expired.
	TakeAccountLink(ctx context.Context, hash string, now time.Time) (int64, LinkKind, error)
	// DeleteAccountLinks removes the user's links (a new one replaces them).
	DeleteAccountLinks(ctx context.Context, userID int64) error
	// ConversationsOf lists the conversations with status in which the
	// user takes part, by id.
	ConversationsOf(ctx context.Context, userID int64, status Status) ([]int64, error)
}

// CreateUser adds a user. With link the user is invited: it sets its own
// password through the link.
func (s *Service) CreateUser(ctx context.Context, by Actor, nu NewUser, link *AccountLink) (*Account, error) {
	if !nu.Role.Valid() {
		return nil, Invalid("role", "must be owner, admin or agent")
	}
	if !CanManageUser(by.User, nu.Role) {
		return nil, Errorf(EForbidden, "admins manage agents only")
	}
	if (link == nil) == (nu.PasswordHash == "") {
		return nil, Errorf(EInternal, "a new user needs a password or an invitation")
	}
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, _ *eventSink) error {
		now := s.clock.Now()
		u := &User{Email: nu.Email, Name: nu.Name, Role: nu.Role, Queues: nu.Queues, Presence: PresenceOffline, CreatedAt: now}
		if err := tx.InsertUser(ctx, u, nu.PasswordHash); err != nil {
			return err
		}
		acc = &Account{User: *u, Status: AccountActive}
		data := map[string]string{"email": u.Email, "name": u.Name, "role": string(u.Role), "queues": queueList(u.Queues)}
		if err := tx.InsertAudit(ctx, s.audit(by, AuditUserCreated, u.ID, data, now)); err != nil {
			return err
		}
		if link == nil {
			return nil
		}
		acc.Status = AccountInvited
		if err := tx.InsertAccountLink(ctx, u.ID, *link, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.audit(by, AuditUserInvited, u.ID,
			map[string]string{"email": u.Email, "expires_at": link.ExpiresAt.UTC().Format(time.RFC3339)}, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// UpdateUser changes a user's name, role or queues. Owners change anyone;
// admins change agents and cannot make anyone admin or owner; the last
// owner cannot be demoted.
func (s *Service) UpdateUser(ctx context.Context, by Actor, id int64, ch UserChange) (*Account, error) {
	if ch.Role != nil && !ch.Role.Valid() {
		return nil, Invalid("role", "must be owner, admin or agent")
	}
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, _ *eventSink) error {
		now := s.clock.Now()
		a, err := s.managed(ctx, tx, by, id)
		if err != nil {
			return err
		}
		after := a.User
		if ch.Name != nil {
			after.Name = *ch.Name
		}
		if ch.Role != nil {
			if !CanManageUser(by.User, *ch.Role) {
				return Errorf(EForbidden, "admins manage agents only")
			}
			after.Role = *ch.Role
		}
		if ch.Queues != nil {
			after.Queues = *ch.Queues
		}
		data := userDiff(&a.User, &after)
		acc = a
		if len(data) == 0 {
			return nil
		}
		if after.Role != a.Role {
			owners, err := tx.ActiveOwners(ctx)
			if err != nil {
				return err
			}
			if err := KeepsAnOwner(a, after.Role, false, owners); err != nil {
				return err
			}
		}
		if err := tx.UpdateUser(ctx, &after); err != nil {
			return err
		}
		acc.User = after
		return tx.InsertAudit(ctx, s.audit(by, AuditUserUpdated, id, data, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// DeactivateUser ends a user's access in one transaction: the account is
// marked deactivated (and offline, so no routing counts on it), its
// sessions, API tokens and links are revoked, and it leaves its active
// conversations as if it had left each (the last participant leaving
// returns a conversation to its queue, unassigned), each with an activity
// entry and an event. Deactivating a deactivated user changes nothing.
func (s *Service) DeactivateUser(ctx context.Context, by Actor, id int64) (*Account, error) {
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		a, err := s.managed(ctx, tx, by, id)
		if err != nil {
			return err
		}
		acc = a
		if a.Status == AccountDeactivated {
			return nil
		}
		owners, err := tx.ActiveOwners(ctx)
		if err != nil {
			return err
		}
		if err := KeepsAnOwner(a, a.Role, true, owners); err != nil {
			return err
		}
		if err := tx.SetDeactivated(ctx, id, now); err != nil {
			return err
		}
		if err := tx.RevokeTokens(ctx, id); err != nil {
			return err
		}
		if err := tx.DeleteAccountLinks(ctx, id); err != nil {
			return err
		}
		convs, err := tx.ConversationsOf(ctx, id, StatusActive)
		if err != nil {
			return err
		}
		for _, cid := range convs {
			if err := s.release(ctx, tx, evs, by, &a.User, cid, now); err != nil {
				return err
			}
		}
		a.Status, a.DeactivatedAt, a.Presence = AccountDeactivated, now, PresenceOffline
		return tx.InsertAudit(ctx, s.audit(by, AuditUserDeactivated, id,
			map[string]string{"email": a.Email, "conversations_released": strconv.Itoa(len(convs))}, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// release takes a deactivated user out of one conversation: the leave
// transition, recorded as done by the one who deactivated it.
func (s *Service) release(ctx context.Context, tx Tx, evs *eventSink, by Actor, gone *User, id int64, now time.Time) error {
	conv, err := tx.Conversation(ctx, id)
	if err != nil {
		return err
	}
	t, err := Decide(conv, gone, ActionLeave)
	if err != nil || !t.Changes() {
		return err
	}
	if err := tx.RemoveParticipant(ctx, conv.ID, gone.ID); err != nil {
		return err
	}
	kept := conv.Participants[:0]
	for _, p := range conv.Participants {
		if p.ID != gone.ID {
			kept = append(kept, p)
		}
	}
	conv.Participants = kept
	if t.Owner >= 0 {
		conv.OwnerID = t.Owner
	}
	conv.Status, conv.LastActivityAt = t.Status, now
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return err
	}
	if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: ActivityLeft, ConversationID: conv.ID,
		ActorID: by.User.ID, ActorName: by.User.Name, CreatedAt: now,
		Data: map[string]string{"user_id": itoa(gone.ID), "user": gone.Name, "reason": "deactivated"}}); err != nil {
		return err
	}
	evs.conversation(EventConversationUpdated, conv, now)
	return nil
}

// ReactivateUser lets a deactivated user log in again (with its password;
// its tokens stay revoked). An active user is left as it is.
func (s *Service) ReactivateUser(ctx context.Context, by Actor, id int64) (*Account, error) {
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, _ *eventSink) error {
		now := s.clock.Now()
		a, err := s.managed(ctx, tx, by, id)
		if err != nil {
			return err
		}
		acc = a
		if a.Status != AccountDeactivated {
			return nil
		}
		if err := tx.SetDeactivated(ctx, id, time.Time{}); err != nil {
			return err
		}
		// Back to what the account was before: active, or still invited
		// (the invitation itself was revoked: send a new one).
		if a, err = tx.LockAccount(ctx, id); err != nil {
			return err
		}
		acc = a
		return tx.InsertAudit(ctx, s.audit(by, AuditUserReactivated, id, map[string]string{"email": a.Email}, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// IssueLink gives a user a new one-time link (a password reset, or a new
// invitation), replacing its earlier links. A deactivated user gets none.
func (s *Service) IssueLink(ctx context.Context, by Actor, id int64, link AccountLink) (*Account, error) {
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, _ *eventSink) error {
		now := s.clock.Now()
		a, err := s.managed(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if a.Status == AccountDeactivated {
			return Errorf(EConflict, "the user is deactivated: reactivate it first")
		}
		acc = a
		if err := tx.DeleteAccountLinks(ctx, id); err != nil {
			return err
		}
		if err := tx.InsertAccountLink(ctx, id, link, now); err != nil {
			return err
		}
		action, data := AuditUserUpdated, map[string]string{"password_reset": "link issued"}
		if link.Kind == LinkInvite {
			action, data = AuditUserInvited, map[string]string{"email": a.Email}
		}
		data["expires_at"] = link.ExpiresAt.UTC().Format(time.RFC3339)
		return tx.InsertAudit(ctx, s.audit(by, action, id, data, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// AcceptLink uses a one-time link: the user's password becomes the one
// hashed as passwordHash (and its name name, when given). A reset also
// revokes the user's sessions and tokens: whoever knew the old password
// may hold some. The link works once; ENotFound when it is unknown, used,
// expired or its user deactivated.
func (s *Service) AcceptLink(ctx context.Context, hash, passwordHash, name, ip string) (*Account, error) {
	var acc *Account
	err := s.inTx(ctx, func(tx Tx, _ *eventSink) error {
		now := s.clock.Now()
		uid, kind, err := tx.TakeAccountLink(ctx, hash, now)
		if err != nil {
			return err
		}
		a, err := tx.LockAccount(ctx, uid)
		if err != nil {
			return err
		}
		if a.Status == AccountDeactivated {
			return Errorf(ENotFound, "this link is not valid (used, expired or revoked)")
		}
		if err := tx.SetPasswordHash(ctx, uid, passwordHash); err != nil {
			return err
		}
		data := map[string]string{"password": "set by invitation"}
		if kind == LinkReset {
			data["password"] = "reset by link"
			if err := tx.RevokeTokens(ctx, uid); err != nil {
				return err
			}
		}
		if name != "" && name != a.Name {
			after := a.User
			after.Name = name
			for k, v := range userDiff(&a.User, &after) {
				data[k] = v
			}
			if err := tx.UpdateUser(ctx, &after); err != nil {
				return err
			}
			a.User = after
		}
		if err := tx.DeleteAccountLinks(ctx, uid); err != nil {
			return err
		}
		a.Status = AccountActive
		acc = a
		return tx.InsertAudit(ctx, s.audit(Actor{User: &a.User, IP: ip}, AuditUserUpdated, uid, data, now))
	})
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// managed locks user id for a change by by: ENotFound when there is no
// such user, EForbidden when by may not manage its role.
func (s *Service) managed(ctx context.Context, tx UserTx, by Actor, id int64) (*Account, error) {
	a, err := tx.LockAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanManageUser(by.User, a.Role) {
		return nil, Errorf(EForbidden, "admins manage agents only")
	}
	return a, nil
}

// audit is an entry of a change to user id.
func (s *Service) audit(by Actor, action AuditAction, id int64, data map[string]string, now time.Time) *AuditEntry {
	e := &AuditEntry{CreatedAt: now, IP: by.IP, Action: action, TargetType: "user", TargetID: itoa(id), Data: data}
	if by.User != nil {
		e.ActorID, e.ActorName = by.User.ID, by.User.Name
	}
	return e
}

// userDiff is the audit record of a change: before.<key> and after.<key>
// for each field that changed.
func userDiff(b, a *User) map[string]string {
	d := map[string]string{}
	add := func(k, before, after string) {
		if before != after {
			d["before."+k], d["after."+k] = before, after
		}
	}
	add("name", b.Name, a.Name)
	add("role", string(b.Role), string(a.Role))
	add("queues", queueList(b.Queues), queueList(a.Queues))
	return d
}

// queueList prints queues for the audit log ("*": every queue).
func queueList(qs []string) string {
	if len(qs) == 0 {
		return "*"
	}
	return strings.Join(qs, ",")
}
