package daemon

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// AuthCfg is the auth section: login policies, two-factor authentication
// and single sign-on.
type AuthCfg struct {
	// InviteTTL is how long an invitation or password-reset link works
	// (default 72h, 5m to 720h).
	InviteTTL time.Duration `yaml:"invite_ttl"`
	// PasswordLogin false turns password login off for everyone but the
	// bootstrap owner (the break-glass account); it needs auth.oidc.
	PasswordLogin *bool `yaml:"password_login"`
	// Require2FA sends users who log in with a password and have no
	// second factor to enrol before anything else.
	Require2FA bool `yaml:"require_2fa"`
	// TOTPKey seals TOTP secrets in the database (AES-256-GCM); without
	// one they are stored as they are. TOTPKeyFile reads it from a file.
	TOTPKey     string   `yaml:"totp_key"`
	TOTPKeyFile string   `yaml:"totp_key_file"`
	OIDC        *OIDCCfg `yaml:"oidc"`
}

// OIDCCfg is the OpenID Connect provider for single sign-on.
type OIDCCfg struct {
	Issuer           string   `yaml:"issuer"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	Scopes           []string `yaml:"scopes"`
	AllowedDomains   []string `yaml:"allowed_domains"`
	DefaultRole      string   `yaml:"default_role"`
	DefaultQueues    []string `yaml:"default_queues"`
	AutoCreate       bool     `yaml:"auto_create"`
	ButtonLabel      string   `yaml:"button_label"`
	// AllowHTTPIssuer accepts an http:// issuer (tests, a lab); otherwise
	// the issuer must be https.
	AllowHTTPIssuer bool `yaml:"allow_http_issuer"`
}

// PasswordLoginOn reports auth.password_login (default true).
func (a AuthCfg) PasswordLoginOn() bool { return a.PasswordLogin == nil || *a.PasswordLogin }

// readSecretFiles replaces *_file keys by their files' content (trailing
// newline trimmed).
func (a *AuthCfg) readSecretFiles() error {
	read := func(key, path string, into *string) error {
		if path == "" {
			return nil
		}

		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s_file: %w", key, err)
		}
		*into = strings.TrimRight(string(b), "\r\n")
		return nil // the file's key is kept: validating twice reads it again
	}
	if err := read("auth.totp_key", a.TOTPKeyFile, &a.TOTPKey); err != nil {
		return err
	}
	if a.OIDC != nil {
		return read("auth.oidc.client_secret", a.OIDC.ClientSecretFile, &a.OIDC.ClientSecret)
	}
	return nil
}

// validateAuth checks the auth section; bad names the key at fault.
func (c *Config) validateAuth(bad func(key, format string, args ...any)) {
	a := &c.Auth
	if err := a.readSecretFiles(); err != nil {
		bad("auth", "%v", err)
	}
	if a.TOTPKey != "" && len(a.TOTPKey) < 16 {
		bad("auth.totp_key", "must be at least 16 characters")
	}
	if !a.PasswordLoginOn() {
		if a.OIDC == nil {
			bad("auth.password_login", "false needs auth.oidc (otherwise only the bootstrap owner could log in)")
		}
		if c.BootstrapOwner.Email == "" {
			bad("auth.password_login", "false needs bootstrap_owner.email (the break-glass account)")
		}
	}
	o := a.OIDC
	if o == nil {
		return
	}
	u, err := url.Parse(o.Issuer)
	switch {
	case o.Issuer == "" || err != nil || u.Host == "":
		bad("auth.oidc.issuer", "must be the provider's issuer URL")
	case u.Scheme == "http" && !o.AllowHTTPIssuer:
		bad("auth.oidc.issuer", "must be https (allow_http_issuer: true accepts http, for tests)")
	case u.Scheme != "https" && u.Scheme != "http":
		bad("auth.oidc.issuer", "must be an https URL")
	}
	if o.ClientID == "" {
		bad("auth.oidc.client_id", "is required")
	}
	if c.PublicURL == "" {
		bad("public_url", "is required with auth.oidc (the callback is public_url/auth/oidc/callback)")
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "email", "profile"}
	} else if !slices.Contains(o.Scopes, "openid") {
		bad("auth.oidc.scopes", "must include openid")
	}
	for i, d := range o.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, "@/ ") || !strings.Contains(d, ".") {
			bad(fmt.Sprintf("auth.oidc.allowed_domains[%d]", i), "must be a domain such as example.com")
		}
		o.AllowedDomains[i] = d
	}
	switch inbox.Role(o.DefaultRole) {
	case "":
		o.DefaultRole = string(inbox.RoleAgent)
	case inbox.RoleAgent, inbox.RoleAdmin:
	default:
		bad("auth.oidc.default_role", "must be agent or admin")
	}
	queues := map[string]bool{}
	for _, q := range c.Queues {
		queues[q.ID] = true
	}
	for i, q := range o.DefaultQueues {
		if !queues[q] {
			bad(fmt.Sprintf("auth.oidc.default_queues[%d]", i), "%q is not a configured queue", q)
		}
	}
	if o.AutoCreate && len(o.AllowedDomains) == 0 {
		bad("auth.oidc.auto_create", "needs allowed_domains (otherwise anyone the provider knows gets an account)")
	}
	if utf8.RuneCountInString(o.ButtonLabel) > 100 {
		bad("auth.oidc.button_label", "must be at most 100 characters")
	}
}

// maskedAuth is the auth section for display, secrets masked.
func (c *Config) maskedAuth() map[string]any {
	m := map[string]any{"password_login": c.Auth.PasswordLoginOn(), "require_2fa": c.Auth.Require2FA,
		"totp_key": mask(c.Auth.TOTPKey), "invite_ttl": c.Auth.InviteTTL.String()}
	if o := c.Auth.OIDC; o != nil {
		m["oidc"] = map[string]any{"issuer": o.Issuer, "client_id": o.ClientID, "client_secret": mask(o.ClientSecret),
			"scopes": o.Scopes, "allowed_domains": o.AllowedDomains, "default_role": o.DefaultRole,
			"default_queues": o.DefaultQueues, "auto_create": o.AutoCreate}
	}
	return m
}
