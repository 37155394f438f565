package daemon

import (
	"github.com/inboxd/inboxd/adapters/tickets"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
)

// wireLinks builds ticket links and, when integrations.tickets names a
// ticket system, its client.
func wireLinks(w *wiring) api.LinkOptions {
	var t *inbox.TicketOptions
	if cfg := w.cfg.Integrations.Tickets; cfg.Enabled() {
		t = &inbox.TicketOptions{Creator: tickets.New(cfg), Source: w.store, Label: cfg.Label, System: cfg.System,
			PublicURL: w.cfg.PublicURL}
	}
	return api.LinkOptions{Links: inbox.NewLinks(inbox.LinksOptions{Service: w.service, Store: w.store, Tickets: t,
		Logger: w.log.With("component", "tickets")})}
}
