package email

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Mailer sends inboxd's own mails (agents' notifications, transcripts).
// They are machine-made, so they carry Auto-Submitted (RFC 3834) and ask
// Exchange not to answer them with out-of-office replies.
type Mailer struct {
	cfg  SMTPConfig
	from string
	err  error
	now  func() time.Time
}

// NewMailer returns a mailer for an smtp section (the notifications.smtp
// of the config) and a From such as "inboxd <noreply@example.com>". A bad
// config is reported by SendMail; call cfg.Validate first to report it at
// start.
func NewMailer(cfg SMTPConfig, from string) *Mailer {
	m := &Mailer{cfg: cfg, from: from, now: time.Now}
	if err := m.cfg.Validate("smtp"); err != nil {
		m.err = err
	} else if a, err := netmail.ParseAddress(from); err != nil || a.Address == "" {
		m.err = fmt.Errorf("from: %q is not an email address", from)
	}
	return m
}

// SendMail sends a plain-text mail to each address of to. headers are
// added as given (for example List-Unsubscribe); Auto-Submitted defaults
// to "auto-generated".
func (m *Mailer) SendMail(ctx context.Context, to []string, subject, text string, headers map[string]string) error {
	if m.err != nil {
		return m.err
	}
	if len(to) == 0 {
		return errors.New("no recipients")
	}
	msg := mail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := msg.To(to...); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	msg.Subject(subject)
	a, _ := netmail.ParseAddress(m.from)
	msg.SetMessageIDWithValue("inboxd.n." + randomHex(12) + "@" + domainOf(a.Address))
	msg.SetDateWithValue(m.now())
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	for k, v := range headers {
		if strings.ContainsAny(k+v, "\r\n") || k == "" {
			return fmt.Errorf("header %q: invalid", k)
		}
		msg.SetGenHeader(mail.Header(textproto.CanonicalMIMEHeaderKey(k)), v)
	}
	msg.SetBodyString(mail.TypeTextPlain, text)
	return m.cfg.send(ctx, msg)
}
