package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
)

// TestConfigAuth: the auth keys are validated with errors that name the
// key; secrets come from files too and are masked.
func TestConfigAuth(t *testing.T) {
	base := "queues: [{id: support}]\nbootstrap_owner: {email: owner@example.com}\n"
	for _, tc := range []struct{ yaml, want string }{
		{"auth: {oidc: {issuer: http://idp.example.com, client_id: x}}\npublic_url: https://inboxd.example.com", "auth.oidc.issuer: must be https"},
		{"auth: {oidc: {issuer: https://idp.example.com}}\npublic_url: https://inboxd.example.com", "auth.oidc.client_id: is required"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x}}", "public_url: is required with auth.oidc"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x, auto_create: true}}\npublic_url: https://i.example.com", "auth.oidc.auto_create: needs allowed_domains"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x, default_role: owner}}\npublic_url: https://i.example.com", "auth.oidc.default_role: must be agent or admin"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x, default_queues: [nope]}}\npublic_url: https://i.example.com", "auth.oidc.default_queues[0]"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x, scopes: [email]}}\npublic_url: https://i.example.com", "auth.oidc.scopes: must include openid"},
		{"auth: {oidc: {issuer: https://idp.example.com, client_id: x, allowed_domains: [\"@x\"]}}\npublic_url: https://i.example.com", "auth.oidc.allowed_domains[0]"},
		{"auth: {password_login: false}", "auth.password_login: false needs auth.oidc"},
		{"auth: {totp_key: short}", "auth.totp_key: must be at least 16 characters"},
	} {
		c, err := daemon.Parse([]byte(base+tc.yaml), func(string) string { return "" })
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	f := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(f, []byte("from-a-file-secret\n"), 0o600)
	c, err := daemon.Parse([]byte(base+`public_url: https://i.example.com
auth: {totp_key: a-key-long-enough-1, oidc: {issuer: https://idp.example.com, client_id: x, client_secret_file: `+f+`, allowed_domains: [Example.COM], auto_create: true}}`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Auth.OIDC.ClientSecret != "from-a-file-secret" || c.Auth.OIDC.AllowedDomains[0] != "example.com" || c.Auth.OIDC.DefaultRole != "agent" {
		t.Fatalf("oidc: %+v", c.Auth.OIDC)
	}
	if err := c.Validate(); err != nil { // validating twice reads the file again
		t.Fatal(err)
	}
	m := c.Masked()["auth"].(map[string]any)
	o := m["oidc"].(map[string]any)
	if o["client_secret"] != "********" || m["totp_key"] != "********" {
		t.Fatalf("masked: %+v", m)
	}
}
