package inbox

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Users managed by owners and admins: accounts, their status, one-time
// links (invitations and password resets), and the rules of who may
// manage whom. The service's transactions are in users_service.go.

// AccountStatus says whether a user can log in.
type AccountStatus string

// Account statuses.
const (
	// AccountActive: has a password and may log in.
	AccountActive AccountStatus = "active"
	// AccountInvited: no password yet; waits for its invitation link.
	AccountInvited AccountStatus = "invited"
	// AccountDeactivated: may not log in; its tokens were revoked.
	AccountDeactivated AccountStatus = "deactivated"
)

// Account is a user as its managers see it.
type Account struct {
	User
	Status        AccountStatus
	LastSeenAt    time.Time // zero: never
	DeactivatedAt time.Time // zero: not deactivated
}

// LinkKind is what a one-time link is for.
type LinkKind string

// Link kinds.
const (
	LinkInvite LinkKind = "invite"
	LinkReset  LinkKind = "reset"
)

// AccountLink is a one-time link as it is stored: the hash of its token (the
// token itself is only in the link given out), its purpose and expiry.
type AccountLink struct {
	Hash      string
	Kind      LinkKind
	ExpiresAt time.Time
}

// Actor is who makes a change and from where: the audit log's who and IP.
type Actor struct {
	User *User
	IP   string
}

// NewUser is a user to create. PasswordHash empty: the user is invited.
type NewUser struct {
	Email        string
	Name         string
	Role         Role
	Queues       []string
	PasswordHash string
}

// UserChange is a change of a user; nil fields stay as they are.
type UserChange struct {
	Name   *string
	Role   *Role
	Queues *[]string
}

// Limits of user management.
const (
	MaxEmailLen   = 254
	MaxUserQueues = 100
)

// CanManageUser reports whether actor may create, change, deactivate or
// reset the password of a user with role target, and give that role:
// owners manage everyone, admins manage agents only.
func CanManageUser(actor *User, target Role) bool {
	switch actor.Role {
	case RoleOwner:
		return true
	case RoleAdmin:
		return target == RoleAgent
	}
	return false
}

// KeepsAnOwner refuses a change that would leave no active owner: the
// last active owner can be neither demoted (after is its role after the
// change) nor deactivated. activeOwners counts the active owners before
// the change.
func KeepsAnOwner(target *Account, after Role, deactivate bool, activeOwners int) error {
	if target.Role != RoleOwner || target.Status != AccountActive {
		return nil
	}
	if (after != RoleOwner || deactivate) && activeOwners <= 1 {
		return Errorf(EConflict, "this is the last owner: make another user owner first")
	}
	return nil
}

// NormalizeEmail returns an email address trimmed and lowercased (logins
// look addresses up that way), or EInvalid.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" || len(e) > MaxEmailLen {
		return "", Invalid("email", "must be an email address of at most %d bytes", MaxEmailLen)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", Invalid("email", "must be an email address like anna@example.com")
	}
	return e, nil
}

// CheckQueues validates the queues a user is given against the configured
// ones; duplicates are dropped, the order kept. Empty means every queue.
func CheckQueues(qs, known []string) ([]string, error) {
	if len(qs) > MaxUserQueues {
		return nil, Invalid("queues", "at most %d queues", MaxUserQueues)
	}
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		if !slices.Contains(known, q) {
			return nil, Invalid("queues", "unknown queue %q", truncate(q, 100))
		}
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out, nil
}
