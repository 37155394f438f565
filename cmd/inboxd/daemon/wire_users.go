package daemon

import (
	"fmt"
	"strings"

	"github.com/inboxd/inboxd/adapters/email"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox/notify"
)

// AuthCfg is the auth section: how accounts are managed.
// wireAccounts builds user management: the service's user changes, the
// store's accounts and audit log, and the links' mail (the notifications
// SMTP, when configured).
func wireAccounts(w *wiring) (api.AccountOptions, error) {
	mailer, err := notificationMailer(w.cfg)
	if err != nil {
		return api.AccountOptions{}, err
	}
	return api.AccountOptions{Service: w.service, Store: w.store, InviteTTL: w.cfg.Auth.InviteTTL,
		PublicURL: strings.TrimSuffix(w.cfg.PublicURL, "/"), Mailer: mailer}, nil
}

// notificationMailer is the notifications SMTP (nil when not configured):
// agents' notifications and one-time links go through it.
func notificationMailer(cfg *Config) (notify.Mailer, error) {
	sc := cfg.Notifications.SMTP
	if sc.Host == "" {
		return nil, nil
	}
	c := email.SMTPConfig{Host: sc.Host, Port: sc.Port, TLS: sc.TLS, Username: sc.Username, Password: sc.Password}
	if err := c.Validate("notifications.smtp"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(sc.From) == "" {
		return nil, fmt.Errorf("notifications.smtp.from: is required")
	}
	return email.NewMailer(c, sc.From), nil
}
