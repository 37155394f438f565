package daemon

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/adapters/tickets"
	"github.com/inboxd/inboxd/inbox"
)

// IntegrationsCfg is inboxd's calls to other systems: the event webhooks
// that tell them what happens in the inbox, and the ticket system.
type IntegrationsCfg struct {
	// Tickets is the ticket system behind "Create ticket" (empty
	// create_url: none).
	Tickets  tickets.Config `yaml:"tickets"`
	Webhooks []WebhookCfg   `yaml:"webhooks"`
	// WebhookDelivery tunes every subscriber's retries.
	WebhookDelivery WebhookDeliveryCfg `yaml:"webhook_delivery"`
}

// WebhookCfg is one subscriber of the outgoing event webhooks.
type WebhookCfg struct {
	ID           string   `yaml:"id"`
	URL          string   `yaml:"url"`
	Secret       string   `yaml:"secret"`
	Events       []string `yaml:"events"`
	Queues       []string `yaml:"queues"`
	IncludeNotes bool     `yaml:"include_notes"`
}

// WebhookDeliveryCfg bounds the backoff between attempts and each attempt.
type WebhookDeliveryCfg struct {
	BaseDelay time.Duration `yaml:"base_delay"`
	MaxDelay  time.Duration `yaml:"max_delay"`
	Timeout   time.Duration `yaml:"timeout"`
}

// Limits of integrations.webhooks.
const (
	maxWebhooks         = 20
	minWebhookSecretLen = 16
)

func (c *IntegrationsCfg) applyDefaults() {
	d := &c.WebhookDelivery
	if d.BaseDelay == 0 {
		d.BaseDelay = time.Second
	}
	if d.MaxDelay == 0 {
		d.MaxDelay = 5 * time.Minute
	}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
}

// validate checks integrations.*; queues are the configured queue ids.
func (c *IntegrationsCfg) validate(queues map[string]bool, bad func(key, format string, args ...any)) {
	c.applyDefaults()
	d := c.WebhookDelivery
	if d.BaseDelay < 10*time.Millisecond || d.MaxDelay < d.BaseDelay {
		bad("integrations.webhook_delivery", "base_delay must be at least 10ms and max_delay at least base_delay")
	}
	if d.Timeout < 100*time.Millisecond || d.Timeout > 5*time.Minute {
		bad("integrations.webhook_delivery.timeout", "must be between 100ms and 5m")
	}
	if len(c.Webhooks) > maxWebhooks {
		bad("integrations.webhooks", "at most %d subscribers", maxWebhooks)
	}
	ids := map[string]bool{}
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("integrations.webhooks[%d]", i)
		switch {
		case !idPattern.MatchString(w.ID):
			bad(key+".id", "must be 1-64 lowercase letters, digits, - or _")
		case ids[w.ID]:
			bad(key+".id", "%q is used twice", w.ID)
		}
		ids[w.ID] = true
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", "must be an http or https URL")
		}
		if len(w.Secret) < minWebhookSecretLen {
			bad(key+".secret", "is required (at least %d characters)", minWebhookSecretLen)
		}
		if len(w.Events) == 0 {
			bad(key+".events", "at least one event is required (%s)", eventNames())
		}
		for j, e := range w.Events {
			if !inbox.ValidWebhookEvent(e) {
				bad(fmt.Sprintf("%s.events[%d]", key, j), "%q is not a webhook event (%s)", e, eventNames())
			}
		}
		for j, q := range w.Queues {
			if !queues[q] {
				bad(fmt.Sprintf("%s.queues[%d]", key, j), "%q is not a configured queue", q)
			}
		}
	}
}

func eventNames() string {
	names := make([]string, len(inbox.WebhookEvents))
	for i, e := range inbox.WebhookEvents {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// subscribers returns the configured subscribers for the dispatcher.
func (c *IntegrationsCfg) subscribers() []inbox.WebhookSubscriber {
	out := make([]inbox.WebhookSubscriber, 0, len(c.Webhooks))
	for _, w := range c.Webhooks {
		evs := make([]inbox.WebhookEvent, len(w.Events))
		for i, e := range w.Events {
			evs[i] = inbox.WebhookEvent(e)
		}
		out = append(out, inbox.WebhookSubscriber{ID: w.ID, URL: w.URL, DisplayURL: providerhttp.RedactURL(w.URL),
			Secret: w.Secret, Events: evs, Queues: slices.Clone(w.Queues), IncludeNotes: w.IncludeNotes})
	}
	return out
}

// masked is integrations.* for display: secrets and URL passwords and
// query values hidden.
func (c *IntegrationsCfg) masked() map[string]any {
	hooks := make([]map[string]any, 0, len(c.Webhooks))
	for _, w := range c.Webhooks {
		hooks = append(hooks, map[string]any{"id": w.ID, "url": maskURL(w.URL, func(string) bool { return true }),
			"secret": mask(w.Secret), "events": w.Events, "queues": w.Queues, "include_notes": w.IncludeNotes})
	}
	out := map[string]any{"webhooks": hooks, "webhook_delivery": map[string]any{
		"base_delay": c.WebhookDelivery.BaseDelay.String(), "max_delay": c.WebhookDelivery.MaxDelay.String(),
		"timeout": c.WebhookDelivery.Timeout.String()}}
	if t := c.Tickets; t.Enabled() {
		out["tickets"] = map[string]any{
			"create_url": maskURL(t.CreateURL, func(string) bool { return true }), "secret": mask(t.Secret),
			"label": t.Label, "system": t.System, "timeout": t.Timeout.String(), "allow_private_fetch": t.AllowPrivateFetch,
		}
	}
	return out
}

// validateTickets applies the ticket system's defaults and checks it;
// errors name the key.
func (c *IntegrationsCfg) validateTickets() error {
	if err := c.Tickets.Validate(); err != nil {
		return prefixLines("integrations.tickets.", err)
	}
	return nil
}

// prefixLines puts prefix before each line of err (errors.Join's lines).
func prefixLines(prefix string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}
