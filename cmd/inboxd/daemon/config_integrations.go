package daemon

import (
	"fmt"
	"strings"

	"github.com/inboxd/inboxd/integrations/tickets"
)

// IntegrationsCfg is integrations: inboxd's calls to other systems.
type IntegrationsCfg struct {
	// Tickets is the ticket system behind "Create ticket" (empty
	// create_url: none).
	Tickets tickets.Config `yaml:"tickets"`
}

// validate applies defaults and checks the integrations; errors name the
// key.
func (c *IntegrationsCfg) validate() error {
	if err := c.Tickets.Validate(); err != nil {
		return prefixLines("integrations.tickets.", err)
	}
	return nil
}

// masked is the integrations for display, secrets hidden.
func (c *IntegrationsCfg) masked() map[string]any {
	t := c.Tickets
	if !t.Enabled() {
		return map[string]any{}
	}
	return map[string]any{"tickets": map[string]any{
		"create_url": maskURL(t.CreateURL, func(string) bool { return true }), "secret": mask(t.Secret),
		"label": t.Label, "system": t.System, "timeout": t.Timeout.String(), "allow_private_fetch": t.AllowPrivateFetch,
	}}
}

// prefixLines puts prefix before each line of err (errors.Join's lines).
func prefixLines(prefix string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}
