package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIntegrationsTicketsConfig(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"integrations: {tickets: {secret: s0123456789abcdefgh}}", "integrations.tickets.create_url: is required"},
		{"integrations: {tickets: {create_url: 'ftp://x', secret: s0123456789abcdefgh}}", "integrations.tickets.create_url: must be an http(s) URL"},
		{"integrations: {tickets: {create_url: 'http://desk.example.com', secret: s0123456789abcdefgh}}", "integrations.tickets.create_url: must be https"},
		{"integrations: {tickets: {create_url: 'https://desk.example.com', secret: short}}", "integrations.tickets.secret: must be at least 16"},
		{"integrations: {tickets: {create_url: 'https://desk.example.com', secret: s0123456789abcdefgh, timeout: 2m}}", "integrations.tickets.timeout:"},
		{"integrations: {tickets: {create_url: 'https://desk.example.com', secrt: x}}", "secrt: unknown key"},
	} {
		c, err := Parse([]byte("queues: [{id: s}]\n"+tt.yaml), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tt.yaml, err, tt.want)
		}
	}

	// The secret from a file (TICKETS_SECRET_FILE); defaults applied; the
	// dump masks the secret and the URL's query.
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "tickets")
	os.WriteFile(secretFile, []byte("hunter2-from-a-file-0123\n"), 0o600)
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(`
queues: [{id: support}]
integrations:
  tickets: {create_url: "https://desk.example.com/api/tickets?key=hunter2", secret: "${TICKETS_SECRET}"}
`), 0o600)
	c, err := Load(path, env(map[string]string{"TICKETS_SECRET_FILE": secretFile}))
	if err != nil {
		t.Fatal(err)
	}
	tk := c.Integrations.Tickets
	if tk.Secret != "hunter2-from-a-file-0123" || tk.Label != "Create ticket" || tk.System != "tickets" || tk.Timeout != 10*time.Second {
		t.Fatalf("tickets: %+v", tk)
	}
	b, _ := json.Marshal(c.Masked()["integrations"])
	if s := string(b); strings.Contains(s, "hunter2") || !strings.Contains(s, `"label":"Create ticket"`) || !strings.Contains(s, "desk.example.com") {
		t.Fatalf("masked integrations: %s", s)
	}
	// No ticket system: nothing to show, nothing required.
	c, err = Load("", env(nil))
	if err != nil || c.Integrations.Tickets.Enabled() {
		t.Fatalf("defaults: %v %+v", err, c.Integrations)
	}
}
