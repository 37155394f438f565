package daemon

import (
	"encoding/json"
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
