package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// LinkMail is the email carrying a one-time link: an invitation to the
// team, or a password reset. The link is the only secret in it; it is
// never logged.
func LinkMail(to, name, inviter string, kind inbox.LinkKind, url string, expires time.Time) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", oneLine(name))
	subject := "Reset your inboxd password"
	if kind == inbox.LinkInvite {
		subject = "You are invited to inboxd"
		fmt.Fprintf(&b, "%s invited you to the support team's inbox. Set your password here:\n\n", oneLine(inviter))
	} else {
		fmt.Fprintf(&b, "%s asked for your password to be reset. Set a new one here:\n\n", oneLine(inviter))
	}
	fmt.Fprintf(&b, "%s\n\nThe link works once, until %s.\n", url, expires.UTC().Format("2006-01-02 15:04 UTC"))
	return Mail{To: []string{to}, Subject: subject, Text: b.String(), Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
}
