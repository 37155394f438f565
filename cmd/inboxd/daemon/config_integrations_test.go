package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWebhookConfigValidationNamesKeys(t *testing.T) {
	const q = "queues: [{id: s}]\n"
	const ok = "{id: crm, url: 'https://crm.example.com/in', secret: 0123456789abcdef, events: [message.created"
	tests := []struct{ yaml, want string }{
		{q + "integrations: {webhooks: [{id: crm, url: 'ftp://x', secret: 0123456789abcdef, events: [message.created]}]}",
			"integrations.webhooks[0].url: must be an http or https URL"},
		{q + "integrations: {webhooks: [{id: crm, url: 'https://', secret: 0123456789abcdef, events: [message.created]}]}",
			"integrations.webhooks[0].url:"},
		{q + "integrations: {webhooks: [{id: crm, url: 'https://x', events: [message.created]}]}",
			"integrations.webhooks[0].secret: is required"},
		{q + "integrations: {webhooks: [{id: crm, url: 'https://x', secret: short, events: [message.created]}]}",
			"integrations.webhooks[0].secret: is required (at least 16 characters)"},
		{q + "integrations: {webhooks: [" + ok + ", conversation.exploded]}]}",
			`integrations.webhooks[0].events[1]: "conversation.exploded" is not a webhook event`},
		{q + "integrations: {webhooks: [{id: crm, url: 'https://x', secret: 0123456789abcdef}]}",
			"integrations.webhooks[0].events: at least one event is required"},
		{q + "integrations: {webhooks: [" + ok + "], queues: [nope]}]}",
			`integrations.webhooks[0].queues[0]: "nope" is not a configured queue`},
		{q + "integrations: {webhooks: [" + ok + "]}, " + ok + "]}]}",
			`integrations.webhooks[1].id: "crm" is used twice`},
		{q + "integrations: {webhooks: [" + ok + "], secrt: x}]}", "secrt: unknown key"},
		{q + "integrations: {webhook_delivery: {base_delay: 1ms}}", "integrations.webhook_delivery: base_delay must be at least 10ms"},
		{q + "integrations: {webhook_delivery: {timeout: 1h}}", "integrations.webhook_delivery.timeout:"},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.yaml), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tt.yaml, err, tt.want)
		}
	}
	c, err := Parse([]byte(q+"integrations: {webhooks: ["+ok+", conversation.status_changed, contact.registered], queues: [s], include_notes: true}]}"), env(nil))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatalf("a valid subscriber: %v", err)
	}
	subs := c.Integrations.subscribers()
	if len(subs) != 1 || len(subs[0].Events) != 3 || !subs[0].IncludeNotes || subs[0].Queues[0] != "s" {
		t.Fatalf("subscribers: %+v", subs)
	}
	if d := c.Integrations.WebhookDelivery; d.BaseDelay != time.Second || d.MaxDelay != 5*time.Minute || d.Timeout != 10*time.Second {
		t.Fatalf("delivery defaults: %+v", d)
	}
}

func TestMaskedWebhookSecrets(t *testing.T) {
	c, err := Parse([]byte(`queues: [{id: s}]
integrations: {webhooks: [{id: crm, url: 'https://user:pa55word@crm.example.com/in?token=tok3n', secret: super-secret-0123456789, events: [message.created]}]}`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c.Masked())
	s := string(b)
	for _, secret := range []string{"super-secret", "pa55word", "tok3n"} {
		if strings.Contains(s, secret) {
			t.Fatalf("masked config shows %q: %s", secret, s)
		}
	}
	if !strings.Contains(s, "crm.example.com") || !strings.Contains(s, "message.created") {
		t.Fatalf("masked config lost the subscriber: %s", s)
	}
}

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
