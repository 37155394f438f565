package inbox

import (
	"context"
	"time"
)

// AuditAction names a security-relevant change recorded in the audit log.
type AuditAction string

// Audit actions. The names are a contract (docs/DESIGN.md): filters and
// exports use them.
const (
	AuditLogin           AuditAction = "login"
	AuditLoginFailed     AuditAction = "login_failed"
	AuditUserCreated     AuditAction = "user.created"
	AuditUserUpdated     AuditAction = "user.updated"
	AuditUserDeactivated AuditAction = "user.deactivated"
	AuditUserReactivated AuditAction = "user.reactivated"
	AuditUserInvited     AuditAction = "user.invited"
	Audit2FAEnabled      AuditAction = "2fa.enabled"
	Audit2FADisabled     AuditAction = "2fa.disabled"
	Audit2FAReset        AuditAction = "2fa.reset"
	AuditTokenCreated    AuditAction = "token.created"
	AuditTokenDeleted    AuditAction = "token.deleted"
	AuditQueueOverride   AuditAction = "queue.override"
	AuditContactExported AuditAction = "contact.exported"
	AuditContactErased   AuditAction = "contact.erased"
	AuditRetentionRun    AuditAction = "retention.run"
)

// AuditActions is every action, for validating filters.
func AuditActions() []AuditAction {
	return []AuditAction{AuditLogin, AuditLoginFailed, AuditUserCreated, AuditUserUpdated, AuditUserDeactivated,
		AuditUserReactivated, AuditUserInvited, Audit2FAEnabled, Audit2FADisabled, Audit2FAReset, AuditTokenCreated,
		AuditTokenDeleted, AuditQueueOverride, AuditContactExported, AuditContactErased, AuditRetentionRun}
}

// AuditEntry is one record of the audit log: who (ActorID 0: the system,
// or an unknown account for a failed login), from where, did what to
// which target. Data holds the change (for settings "before.<key>" and
// "after.<key>") and never a secret: no password, token, TOTP secret or
// code, and for an erasure only ids and counts.
type AuditEntry struct {
	ID         int64             `json:"id"`
	CreatedAt  time.Time         `json:"created_at"`
	ActorID    int64             `json:"actor_id,omitempty"`
	ActorName  string            `json:"actor_name,omitempty"`
	IP         string            `json:"ip,omitempty"`
	Action     AuditAction       `json:"action"`
	TargetType string            `json:"target_type,omitempty"` // user, token, queue, contact, retention
	TargetID   string            `json:"target_id,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
}

// AuditTx records an entry in the transaction of the change it
// describes, so that a change and its record commit together.
type AuditTx interface {
	InsertAudit(ctx context.Context, e *AuditEntry) error
}

// Auditor records an entry on its own, for what is not a change of the
// store (a failed login) or is recorded after the fact.
type Auditor interface {
	Audit(ctx context.Context, e *AuditEntry) error
}
