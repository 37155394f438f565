package inbox

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Canned replies are texts an agent inserts into a reply by their
// shortcut. Shared ones belong to a queue (or to every queue) and are kept
// by owners and admins; personal ones belong to their author.

// Limits of canned replies.
const (
	MaxCannedShortcutRunes = 32
	MaxCannedTitleRunes    = 100
	MaxCannedTextBytes     = 5000
	// MaxSharedCanned bounds the shared canned replies of the team, and
	// MaxPersonalCanned those of one author.
	MaxSharedCanned   = 500
	MaxPersonalCanned = 100
)

// CannedReply is a reusable reply text.
type CannedReply struct {
	ID       int64  `json:"id"`
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	// Queue is the queue of a shared reply; "" is every queue.
	Queue string `json:"-"`
	// OwnerID is the author of a personal reply; 0 for a shared one.
	OwnerID   int64     `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Personal reports whether r belongs to its author alone.
func (r *CannedReply) Personal() bool { return r.OwnerID != 0 }

// Scope is the set of replies whose shortcuts must differ from r's: the
// author's personal ones, or the shared ones of the same queue.
func (r *CannedReply) Scope() string {
	if r.Personal() {
		return "user:" + strconv.FormatInt(r.OwnerID, 10)
	}
	if r.Queue == "" {
		return "all"
	}
	return "queue:" + r.Queue
}

// AppliesTo reports whether r may be used in a conversation of queue q.
func (r *CannedReply) AppliesTo(q string) bool {
	return r.Personal() || r.Queue == "" || r.Queue == q
}

// CanReadCanned reports whether u may see and use r: its author for a
// personal one; owners and admins, and the agents serving its queue, for
// a shared one.
func CanReadCanned(u *User, r *CannedReply) bool {
	if r.Personal() {
		return r.OwnerID == u.ID
	}
	return u.Role.IsAdmin() || r.Queue == "" || ServesQueue(u, r.Queue)
}

// CanManageCanned reports whether u may change or delete r: its author for
// a personal one, owners and admins for a shared one.
func CanManageCanned(u *User, r *CannedReply) bool {
	if r.Personal() {
		return r.OwnerID == u.ID
	}
	return u.Role.IsAdmin()
}

// Placeholders are the names a canned reply's text may hold as
// {{name}}, filled from the conversation it is used in.
var Placeholders = []string{"contact.name", "contact.email", "agent.name", "conversation.number"}

var (
	cannedShortcut = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_-]*$`)
	placeholder    = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
)

// ValidateCanned checks and normalizes a reply's fields (the shortcut is
// lower-cased, a leading "/" dropped). The caller checks Queue against the
// configured queues.
func ValidateCanned(r *CannedReply) error {
	r.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(r.Shortcut), "/"))
	r.Title = strings.TrimSpace(r.Title)
	r.Text = strings.TrimSpace(r.Text)
	switch {
	case r.Shortcut == "":
		return Invalid("shortcut", "is required")
	case utf8.RuneCountInString(r.Shortcut) > MaxCannedShortcutRunes || !cannedShortcut.MatchString(r.Shortcut):
		return Invalid("shortcut", "must be 1 to %d letters, digits, - and _", MaxCannedShortcutRunes)
	case r.Title == "":
		return Invalid("title", "is required")
	case utf8.RuneCountInString(r.Title) > MaxCannedTitleRunes:
		return Invalid("title", "must be at most %d characters", MaxCannedTitleRunes)
	case r.Text == "":
		return Invalid("text", "is required")
	case len(r.Text) > MaxCannedTextBytes:
		return &Error{Code: ETooLarge, Field: "text", Message: "text must be at most " + strconv.Itoa(MaxCannedTextBytes) + " bytes"}
	}
	for _, m := range placeholder.FindAllStringSubmatch(r.Text, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return Invalid("text", "unknown placeholder {{%s}}; known: {{%s}}", m[1], strings.Join(Placeholders, "}}, {{"))
		}
	}
	return nil
}

// CannedValues are what a reply's placeholders are filled with.
type CannedValues struct {
	ContactName, ContactEmail, AgentName string
	ConversationNumber                   int64
}

// FillCanned replaces the placeholders of text with v.
func FillCanned(text string, v CannedValues) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		switch placeholder.FindStringSubmatch(m)[1] {
		case "contact.name":
			return v.ContactName
		case "contact.email":
			return v.ContactEmail
		case "agent.name":
			return v.AgentName
		case "conversation.number":
			return strconv.FormatInt(v.ConversationNumber, 10)
		}
		return m // saved before a placeholder was retired: left as written
	})
}
