package daemon

import (
	"strings"

	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
)

// wireAuth builds the login policies: two-factor authentication on the
// store (secrets sealed with auth.totp_key) and single sign-on.
func wireAuth(w *wiring) (api.AuthOptions, error) {
	a := w.cfg.Auth
	box, err := api.NewSecretBox(a.TOTPKey)
	if err != nil {
		return api.AuthOptions{}, err
	}
	if !box.Sealing() {
		w.log.Warn("auth.totp_key is not set: TOTP secrets are stored unencrypted in the database")
	}
	o := api.AuthOptions{TwoFactor: w.store, Audit: w.store, Secrets: box, Require2FA: a.Require2FA,
		PasswordLoginOff: !a.PasswordLoginOn(), BreakGlass: strings.ToLower(strings.TrimSpace(w.cfg.BootstrapOwner.Email))}
	if host := publicHost(w.cfg.PublicURL); host != "" {
		o.Issuer = "inboxd (" + host + ")"
	}
	if c := a.OIDC; c != nil {
		o.OIDC = &api.OIDCOptions{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes,
			AllowedDomains: c.AllowedDomains, DefaultRole: inbox.Role(c.DefaultRole), DefaultQueues: c.DefaultQueues,
			AutoCreate: c.AutoCreate, ButtonLabel: c.ButtonLabel,
			RedirectURL: strings.TrimSuffix(w.cfg.PublicURL, "/") + "/auth/oidc/callback", Store: w.store}
	}
	return o, nil
}

func publicHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}
