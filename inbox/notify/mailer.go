package notify

import "context"

// Mailer sends notification emails. The email adapter provides the SMTP
// implementation (notifications.smtp); tests use a MailerFunc.
type Mailer interface {
	SendMail(ctx context.Context, to []string, subject, text string, headers map[string]string) error
}

// MailerFunc adapts a function to Mailer.
type MailerFunc func(ctx context.Context, to []string, subject, text string, headers map[string]string) error

// SendMail calls f.
func (f MailerFunc) SendMail(ctx context.Context, to []string, subject, text string, headers map[string]string) error {
	return f(ctx, to, subject, text, headers)
}

// Send sends a composed mail through m.
func Send(ctx context.Context, m Mailer, mail Mail) error {
	return m.SendMail(ctx, mail.To, mail.Subject, mail.Text, mail.Headers)
}
