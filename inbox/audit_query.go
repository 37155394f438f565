package inbox

import "slices"

// AuditFilter selects audit entries: by actor (0: anyone), by action
// ("": every action), below an id (keyset pages, newest first).
type AuditFilter struct {
	ActorID int64
	Action  AuditAction
	Before  int64
	Limit   int
}

// Audit log page sizes.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 200
)

// Valid reports whether a is one of the recorded actions.
func (a AuditAction) Valid() bool { return slices.Contains(AuditActions(), a) }
